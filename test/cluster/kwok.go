package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodelease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
)

// kwok plays the kubelet of fake nodes: it marks nodes Ready, renews their leases, and moves the pods the
// scheduler binds to them through the stages below. It runs as a child process of this same binary
// (`cluster kwok …`), so its process-wide setup (flags, logging) stays apart from the control plane's.

// failMarker in a container image makes kwok report the pod as failing to pull it, never Ready.
const failMarker = "fail"

// hasFailImage is a kwok selector key (a jq expression): the names of containers whose image has the marker.
const hasFailImage = `.spec.containers.[] | select( .image | contains("` + failMarker + `") ) | .name`

// podImagePullFailed is what a kubelet reports for an image it cannot pull: Pending, container waiting in
// ImagePullBackOff, Ready false. Matched once (no containerStatuses yet), so it does not loop.
const podImagePullFailed = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-image-pull-failed
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.status.containerStatuses'
      operator: 'DoesNotExist'
    - key: '` + hasFailImage + `'
      operator: 'Exists'
  next:
    statusTemplate: |
      {{ $now := Now }}
      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady
      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        restartCount: 0
        started: false
        state:
          waiting:
            reason: ImagePullBackOff
            message: {{ printf "Back-off pulling image %q" .image | Quote }}
      {{ end }}
      phase: Pending
      startTime: {{ $now | Quote }}
`

// kwokStages are kwok's own default stages (as kwokctl sets them up), with pod-ready told to leave the
// marked images alone, plus the failing stage.
func kwokStages() (string, error) {
	const anchor = "    matchExpressions:\n"
	if !strings.Contains(podfast.DefaultPodReady, anchor) {
		return "", fmt.Errorf("kwok's pod-ready stage changed shape: no %q", anchor)
	}
	podReady := strings.Replace(podfast.DefaultPodReady, anchor,
		anchor+"    - key: '"+hasFailImage+"'\n      operator: 'DoesNotExist'\n", 1)
	docs := []string{
		nodefast.DefaultNodeInit, nodelease.DefaultNodeHeartbeatWithLease,
		podReady, podfast.DefaultPodComplete, podfast.DefaultPodDelete, podImagePullFailed,
	}
	return strings.Join(docs, "\n---\n"), nil
}

// nodeAnnotation marks the nodes this kwok manages.
const nodeAnnotation = "kwok.x-k8s.io/node"

// startKwok starts `self kwok` for the nodes annotated fake. Its stdin is a pipe that only closes when this
// process dies, however it dies; the child exits then (see runKwok), and Pdeathsig covers the rest.
func startKwok(ctx context.Context, dir, kubeconfig string) (*exec.Cmd, error) {
	stages, err := kwokStages()
	if err != nil {
		return nil, err
	}
	stagesFile := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stagesFile, []byte(stages), 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, self, "kwok",
		"--kubeconfig="+kubeconfig,
		"--config="+stagesFile,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector="+nodeAnnotation+"=fake",
		"--node-lease-duration-seconds=40",
		"--cidr=10.244.0.0/16",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if _, err := cmd.StdinPipe(); err != nil {
		return nil, err
	}
	return cmd, cmd.Start()
}

// runKwok is the `kwok` subcommand: kwok's own main (sigs.k8s.io/kwok/cmd/kwok), plus exit on stdin EOF.
func runKwok(args []string) {
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	// kwok's flag helpers read os.Args themselves: make them see kwok's arguments only. And cobra merges
	// pflag's global CommandLine into kwok's flags, where Kubernetes' packages registered theirs (a
	// non-bool --version among them, which breaks cobra): this process is kwok only, so start it afresh.
	os.Args = append([]string{"kwok"}, args...)
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}
	ctx, logger := kwoklog.InitFlags(context.Background(), flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("kwok config", "err", err)
		os.Exit(1)
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(args)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("kwok", "err", err)
		os.Exit(1)
	}
}

// createNodes registers n fake nodes for kwok, sized like a roomy real node.
func createNodes(ctx context.Context, client kubernetes.Interface, n int) ([]string, error) {
	var names []string
	for i := range n {
		name := fmt.Sprintf("kwok-node-%d", i)
		resources := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("32"),
			corev1.ResourceMemory: resource.MustParse("256Gi"),
			corev1.ResourcePods:   resource.MustParse("110"),
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{
				Name:        name,
				Annotations: map[string]string{nodeAnnotation: "fake"},
				Labels: map[string]string{
					"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
					"kubernetes.io/arch": "amd64", "type": "kwok",
				},
			},
			Status: corev1.NodeStatus{Capacity: resources, Allocatable: resources},
		}
		if _, err := client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
		names = append(names, name)
	}
	return names, nil
}
