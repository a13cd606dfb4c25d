package main

import (
	"context"
	"net"
	"strings"

	"github.com/spf13/pflag"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	cliflag "k8s.io/component-base/cli/flag"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	kcm "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kcmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	"k8s.io/kubernetes/cmd/kube-controller-manager/names"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	scheduleroptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// Each component is configured through its own command-line flags, parsed into its own options: the same
// code path as the real binaries, so a flag here means what the Kubernetes docs say it means.

func parseFlags(sets cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet("component", pflag.ContinueOnError)
	for _, f := range sets.FlagSets {
		fs.AddFlagSet(f)
	}
	return fs.Parse(args)
}

// startAPIServer runs kube-apiserver on listener until ctx ends; the returned channel yields its exit.
func startAPIServer(ctx context.Context, listener net.Listener, etcdURL string, p *pki) (<-chan error, error) {
	s := apiserveroptions.NewServerRunOptions()
	err := parseFlags(s.Flags(), []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--client-ca-file=" + p.caCert,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + p.serviceAccountKey,
		"--service-account-signing-key-file=" + p.serviceAccountKey,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--authorization-mode=Node,RBAC",
		// One API server on a loopback address: nothing to reconcile into the kubernetes Service's endpoints.
		"--endpoint-reconciler-type=none",
	})
	if err != nil {
		return nil, err
	}
	// Serve on a listener bound before, so the port is ours (no race between picking and binding it).
	s.SecureServing.Listener = listener
	s.SecureServing.BindPort = listener.Addr().(*net.TCPAddr).Port

	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, err
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, utilerrors.NewAggregate(errs)
	}
	done := make(chan error, 1)
	go func() { done <- apiserver.Run(ctx, completed) }()
	return done, nil
}

// controllers are the kube-controller-manager loops the tests meet: rollouts, garbage collection with
// finalizers, namespace deletion, the default ServiceAccount that pods need, Jobs, StatefulSets and
// DaemonSets for health checks, and node-lifecycle, which lifts the not-ready taint once kwok reports a
// node Ready (without it nothing gets scheduled).
var controllers = []string{
	names.DeploymentController, names.ReplicaSetController, names.GarbageCollectorController,
	names.NamespaceController, names.ServiceAccountController, names.JobController,
	names.StatefulSetController, names.DaemonSetController, names.NodeLifecycleController,
}

// startControllerManager runs kube-controller-manager with those controllers against kubeconfig.
func startControllerManager(ctx context.Context, kubeconfig string) (<-chan error, error) {
	s, err := kcmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, err
	}
	all, disabled, aliases := kcm.KnownControllers(), kcm.ControllersDisabledByDefault(), kcm.ControllerAliases()
	sets := s.Flags(all, disabled, aliases)
	err = parseFlags(sets, []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers, ","),
		"--leader-elect=false",
		"--secure-port=0", // no serving: nothing reads its metrics or healthz
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	})
	if err != nil {
		return nil, err
	}
	s.ParsedFlags = &sets
	config, err := s.Config(ctx, all, disabled, aliases)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- kcm.Run(ctx, config.Complete()) }()
	return done, nil
}

// startScheduler runs kube-scheduler against kubeconfig, so pods get nodes as in a real cluster.
func startScheduler(ctx context.Context, kubeconfig string) (<-chan error, error) {
	o := scheduleroptions.NewOptions()
	err := parseFlags(*o.Flags, []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	})
	if err != nil {
		return nil, err
	}
	cc, sched, err := scheduler.Setup(ctx, o)
	if err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- scheduler.Run(ctx, cc, sched) }()
	return done, nil
}
