// Command cluster runs a real Kubernetes control plane for gitops-actions' tests, in one process: etcd,
// kube-apiserver, kube-controller-manager (the controllers tests meet), kube-scheduler, and kwok (as a child
// process of this binary) for fake nodes whose pods get Running and Ready. Test infrastructure only.
//
//	cluster --kubeconfig=/tmp/x/kubeconfig [--nodes=3]
//
// It prints one JSON line on stdout once the cluster can run a Deployment:
//
//	{"ready":true,"kubeconfig":"…","server":"https://127.0.0.1:PORT","nodes":[…],"startupMs":…}
//
// and stops on SIGTERM, SIGINT or when its stdin closes (so a parent that dies takes it along), removing
// everything it wrote but the kubeconfig. Logs go to stderr.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	// A parent that dies leaves stdout and stderr without a reader: Go would die of SIGPIPE at the next log
	// line, before cleaning up. Ignored, writes fail quietly and stdin's EOF stops everything in order.
	signal.Ignore(syscall.SIGPIPE)
	if len(os.Args) > 1 && os.Args[1] == "kwok" {
		runKwok(os.Args[2:])
		return
	}
	kubeconfig := flag.String("kubeconfig", "", "where to write the admin kubeconfig (required)")
	nodes := flag.Int("nodes", 3, "how many fake nodes kwok runs")
	ignoreStdin := flag.Bool("ignore-stdin", false, "keep running when stdin closes (for a shell with </dev/null)")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "cluster: --kubeconfig is required")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if !*ignoreStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	if err := run(ctx, *kubeconfig, *nodes); err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, kubeconfigPath string, nodeCount int) error {
	started := time.Now()
	dir, err := os.MkdirTemp("", "gitops-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, sub := range []string{"pki", "etcd"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}

	p, err := newPKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}

	// Shutdown runs in reverse: the clients of the API server first, then the API server, then etcd.
	etcd, etcdURL, err := startEtcd(filepath.Join(dir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Close()

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	server := "https://" + listener.Addr().String()
	if err := os.WriteFile(kubeconfigPath, p.kubeconfig(server), 0o600); err != nil {
		return err
	}

	// One channel hears any component that returns: after startup, that is a failure of the cluster.
	// Deferred stops run in reverse: kwok, the scheduler and the controllers, then the API server.
	exits := make(chan string, 4)
	api, err := start("kube-apiserver", exits, func(ctx context.Context) (<-chan error, error) {
		return startAPIServer(ctx, listener, etcdURL, p)
	})
	if err != nil {
		return err
	}
	defer api.stop(30 * time.Second)

	restConfig, err := clientcmd.BuildConfigFromFlags("", kubeconfigPath)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		return err
	}
	if err := waitUntil(ctx, exits, 60*time.Second, func(ctx context.Context) (bool, error) {
		status := 0
		client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx).StatusCode(&status)
		return status == 200, nil
	}); err != nil {
		return fmt.Errorf("kube-apiserver /readyz: %w", err)
	}

	kcm, err := start("kube-controller-manager", exits, func(ctx context.Context) (<-chan error, error) {
		return startControllerManager(ctx, kubeconfigPath)
	})
	if err != nil {
		return err
	}
	defer kcm.stop(15 * time.Second)
	sched, err := start("kube-scheduler", exits, func(ctx context.Context) (<-chan error, error) {
		return startScheduler(ctx, kubeconfigPath)
	})
	if err != nil {
		return err
	}
	defer sched.stop(15 * time.Second)
	kwok, err := start("kwok", exits, func(ctx context.Context) (<-chan error, error) {
		cmd, err := startKwok(ctx, dir, kubeconfigPath)
		if err != nil {
			return nil, err
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return done, nil
	})
	if err != nil {
		return err
	}
	defer kwok.stop(10 * time.Second)

	names, err := createNodes(ctx, client, nodeCount)
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	// Ready means a Deployment can roll out: nodes Ready and untainted (kwok and node-lifecycle at work),
	// and the default ServiceAccount there (the serviceaccount controller at work; pods need it).
	if err := waitUntil(ctx, exits, 90*time.Second, func(ctx context.Context) (bool, error) {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		ready := 0
		for _, n := range list.Items {
			if nodeSchedulable(&n) {
				ready++
			}
		}
		if ready < nodeCount {
			return false, nil
		}
		_, err = client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("waiting for nodes and controllers: %w", err)
	}

	line, _ := json.Marshal(map[string]any{
		"ready": true, "kubeconfig": kubeconfigPath, "server": server, "nodes": names,
		"startupMs": time.Since(started).Milliseconds(),
	})
	fmt.Println(string(line))

	select {
	case <-ctx.Done():
		fmt.Fprintln(os.Stderr, "cluster: stopping")
		return nil
	case name := <-exits:
		return fmt.Errorf("%s stopped", name)
	}
}

func nodeSchedulable(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady || t.Key == corev1.TaintNodeUnreachable {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitUntil polls cond every 100ms until it holds, ctx ends, timeout passes, or a component exits.
func waitUntil(ctx context.Context, exits <-chan string, timeout time.Duration, cond wait.ConditionWithContextFunc) error {
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %s", timeout))
	defer cancel()
	var exited string
	go func() {
		select {
		case exited = <-exits:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, cond); err != nil {
		if exited != "" {
			return fmt.Errorf("%s stopped", exited)
		}
		return context.Cause(ctx)
	}
	return nil
}

// component is one part of the control plane running in a goroutine (or, for kwok, a child process).
type component struct {
	name     string
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
	stopping atomic.Bool // set by stop: what it returns then is no news
}

// start runs launch with a context of the component's own and watches what it returns; an exit before
// stop is reported on exits by name.
func start(name string, exits chan<- string, launch func(ctx context.Context) (<-chan error, error)) (*component, error) {
	ctx, cancel := context.WithCancel(context.Background())
	result, err := launch(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &component{name: name, cancel: cancel, done: make(chan struct{})}
	go func() {
		c.err = <-result
		close(c.done)
		if c.stopping.Load() {
			return
		}
		fmt.Fprintf(os.Stderr, "cluster: %s returned: %v\n", name, c.err)
		select {
		case exits <- name:
		default:
		}
	}()
	return c, nil
}

// stop cancels the component and waits (bounded) for it to return, so the temp folder goes last.
func (c *component) stop(timeout time.Duration) {
	c.stopping.Store(true)
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(timeout):
		fmt.Fprintf(os.Stderr, "cluster: %s did not stop within %s\n", c.name, timeout)
	}
}
