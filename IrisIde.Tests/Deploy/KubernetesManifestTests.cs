namespace IrisIde.Tests.Deploy;

/// <summary>
/// <c>deploy/kubernetes</c> as shipped, read as YAML (the runner Pod inside its ConfigMap included) and held to what the
/// seed's deployment did and what the README promises: no cluster runs on the build machines, so without these checks a
/// manifest could lose a runner's isolation or the web app's probes and nobody would know before an operator applied
/// it. Each check also gets a copy of a manifest changed against it, to show that it can fail and names what is wrong.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly Dictionary<string, Func<KubernetesManifests, List<string>>> Checks = new(StringComparer.Ordinal)
    {
        ["kustomization"] = KubernetesManifestChecks.Kustomization,
        ["runner"] = KubernetesManifestChecks.RunnerPod,
        ["rbac"] = KubernetesManifestChecks.Rbac,
        ["network"] = KubernetesManifestChecks.NetworkPolicy,
        ["web"] = KubernetesManifestChecks.Web,
        ["worker"] = KubernetesManifestChecks.Worker,
        ["ingress"] = KubernetesManifestChecks.Ingress,
        ["stateful"] = KubernetesManifestChecks.StatefulServices,
    };

    private static KubernetesManifests Shipped => KubernetesManifests.Shipped;

    [Fact]
    public void Every_manifest_parses_and_the_runner_pod_is_found_in_its_config_map()
    {
        Assert.Contains("kustomization.yaml", Shipped.Texts.Keys);
        Assert.True(Shipped.Documents.Count >= Shipped.Texts.Count, "a manifest file holds no document");
        Assert.Equal("Pod", Assert.IsType<ManifestDocument>(Shipped.RunnerPod).Kind);
    }

    [Fact]
    public void The_kustomization_lists_every_manifest_but_the_example_secret() => AssertNoProblems("kustomization");

    [Fact]
    public void The_runner_pod_is_isolated_and_sized_like_the_seeds_runner_pods() => AssertNoProblems("runner");

    [Fact]
    public void Only_the_web_app_may_manage_pods_and_only_pods_in_its_namespace() => AssertNoProblems("rbac");

    [Fact]
    public void Runner_pods_reach_nothing_and_only_the_web_pods_reach_them() => AssertNoProblems("network");

    [Fact]
    public void The_web_app_is_probed_non_root_unprivileged_and_finds_the_runner_template() => AssertNoProblems("web");

    [Fact]
    public void Workers_run_in_kata_with_a_liveness_probe_and_time_to_drain() => AssertNoProblems("worker");

    [Fact]
    public void The_ingress_keeps_websockets_open_600_s_on_one_web_pod() => AssertNoProblems("ingress");

    [Fact]
    public void RabbitMq_and_PostgreSql_keep_their_data_on_claims_and_are_probed() => AssertNoProblems("stateful");

    [Theory]
    [InlineData("kustomization", "kustomization.yaml", "  - ingress.yaml\n", "", "resources does not list ingress.yaml")]
    [InlineData("kustomization", "kustomization.yaml", "  - ingress.yaml\n", "  - ingress.yaml\n  - secrets.example.yaml\n", "resources lists secrets.example.yaml")]
    [InlineData("kustomization", "kustomization.yaml", "  - ingress.yaml\n", "  - ingress.yaml\n  - hpa.yaml\n", "resources lists hpa.yaml, which is not a manifest")]
    [InlineData("kustomization", "kustomization.yaml", "  - web.yaml\n", "  - web.yaml\n  - web.yaml\n", "resources lists web.yaml 2 times")]
    [InlineData("runner", "runner-pod-template.yaml", "runtimeClassName: kata", "runtimeClassName: runc", "spec.runtimeClassName must be kata")]
    [InlineData("runner", "runner-pod-template.yaml", "cpu: 500m", "cpu: \"1\"", "resources.limits.cpu must be 500m")]
    [InlineData("runner", "runner-pod-template.yaml", "memory: 200Mi", "memory: 100Mi", "resources.requests.memory must be 200Mi")]
    [InlineData("runner", "runner-pod-template.yaml", "path: /healthz", "path: /languages", "readinessProbe.httpGet.path must be /healthz")]
    [InlineData("runner", "runner-pod-template.yaml", "port: http", "port: 9090", "readinessProbe.httpGet.port must be the http port")]
    [InlineData("runner", "runner-pod-template.yaml", "automountServiceAccountToken: false", "automountServiceAccountToken: true", "spec.automountServiceAccountToken must be false")]
    [InlineData("runner", "runner-pod-template.yaml", "runAsUser: 10001", "runAsUser: 0", "securityContext.runAsUser (or the pod's) must be a non-zero uid")]
    [InlineData("runner", "runner-pod-template.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "securityContext.allowPrivilegeEscalation must be false")]
    [InlineData("runner", "runner-pod-template.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "securityContext.readOnlyRootFilesystem must be true")]
    [InlineData("runner", "runner-pod-template.yaml", "privileged: false", "privileged: true", "spec.containers[runner].securityContext.privileged is true")]
    [InlineData("runner", "runner-pod-template.yaml", "drop: [\"ALL\"]", "drop: [\"NET_RAW\"]", "securityContext.capabilities.drop must contain ALL")]
    [InlineData("runner", "runner-pod-template.yaml", "drop: [\"ALL\"]", "drop: [\"ALL\"]\n              add: [\"NET_ADMIN\"]", "securityContext.capabilities.add has NET_ADMIN")]
    [InlineData("runner", "runner-pod-template.yaml", "type: RuntimeDefault", "type: Unconfined", "seccompProfile.type (or the pod's) must be RuntimeDefault")]
    [InlineData("runner", "runner-pod-template.yaml", "restartPolicy: Never", "restartPolicy: Always", "spec.restartPolicy must be Never")]
    [InlineData("runner", "runner-pod-template.yaml", "      restartPolicy: Never", "      restartPolicy: Never\n      hostPID: true", "spec.hostPID is true")]
    [InlineData("runner", "runner-pod-template.yaml", "emptyDir:\n            sizeLimit: 256Mi", "hostPath:\n            path: /var/run", "spec.volumes[tmp] is a hostPath volume")]
    [InlineData("runner", "runner-pod-template.yaml", "enableServiceLinks: false", "enableServiceLinks: true", "spec.enableServiceLinks must be false")]
    [InlineData("runner", "runner-pod-template.yaml", "app.kubernetes.io/component: runner", "app.kubernetes.io/component: sandbox", "metadata.labels.app.kubernetes.io/component must be runner")]
    [InlineData("runner", "runner-pod-template.yaml", "value: Process", "value: Bubblewrap", "env.Iris__Sandbox__Kind must be Process")]
    [InlineData("rbac", "rbac.yaml", "verbs: [\"create\", \"get\", \"list\", \"watch\", \"delete\"]", "verbs: [\"create\", \"get\", \"list\", \"watch\", \"delete\", \"patch\"]", "rules[0].verbs has patch")]
    [InlineData("rbac", "rbac.yaml", "verbs: [\"create\", \"get\", \"list\", \"watch\", \"delete\"]", "verbs: [\"create\", \"get\", \"list\", \"watch\"]", "rules[0].verbs lacks delete")]
    [InlineData("rbac", "rbac.yaml", "resources: [\"pods\"]", "resources: [\"pods\", \"pods/exec\"]", "rules[0].resources must be [pods]")]
    [InlineData("rbac", "rbac.yaml", "  kind: Role\n  name: iris-pod-manager", "  kind: ClusterRole\n  name: iris-pod-manager", "binds iris-pod-manager to ClusterRole iris-pod-manager")]
    [InlineData("rbac", "rbac.yaml", "kind: RoleBinding", "kind: ClusterRoleBinding", "ClusterRoleBinding iris-pod-manager: binds iris-pod-manager")]
    [InlineData("rbac", "worker.yaml", "automountServiceAccountToken: false", "serviceAccountName: iris-pod-manager", "Deployment iris-worker: spec.template.spec.serviceAccountName is iris-pod-manager")]
    [InlineData("rbac", "runner-pod-template.yaml", "automountServiceAccountToken: false", "serviceAccountName: iris-pod-manager", "Pod iris-runner-: spec.serviceAccountName is iris-pod-manager")]
    [InlineData("network", "network-policy.yaml", "  egress: []", "  egress:\n    - {}", "spec.egress[0] lets runner pods send traffic out")]
    [InlineData("network", "network-policy.yaml", "policyTypes: [\"Ingress\", \"Egress\"]", "policyTypes: [\"Ingress\"]", "spec.policyTypes lacks Egress")]
    [InlineData("network", "network-policy.yaml", "app.kubernetes.io/component: web", "app.kubernetes.io/component: worker", "spec.ingress[0].from[0].podSelector.matchLabels (app.kubernetes.io/component=worker) must select the web pods")]
    [InlineData("network", "network-policy.yaml", "        - podSelector:", "        - namespaceSelector: {}\n          podSelector:", "spec.ingress[0].from[0] admits other namespaces")]
    [InlineData("network", "network-policy.yaml", "port: 8080", "port: 5432", "spec.ingress[0].ports[0] is TCP/5432")]
    [InlineData("network", "runner-pod-template.yaml", "app.kubernetes.io/component: runner", "app.kubernetes.io/component: sandbox", "no NetworkPolicy's spec.podSelector selects the runner pods")]
    [InlineData("web", "web.yaml", "path: /healthz/live", "path: /healthz", "livenessProbe.httpGet.path must be /healthz/live")]
    [InlineData("web", "web.yaml", "path: /healthz/ready", "path: /healthz/live", "readinessProbe.httpGet.path must be /healthz/ready")]
    [InlineData("web", "web.yaml", "runAsNonRoot: true", "runAsNonRoot: false", "securityContext.runAsNonRoot (or the pod's) must be true")]
    [InlineData("web", "web.yaml", "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "securityContext.allowPrivilegeEscalation must be false")]
    [InlineData("web", "web.yaml", "drop: [\"ALL\"]", "drop: [\"NET_RAW\"]", "securityContext.capabilities.drop must contain ALL")]
    [InlineData("web", "web.yaml", "cpu: 250m\n              memory: 256Mi", "memory: 256Mi", "resources.requests.cpu is not set")]
    [InlineData("web", "web.yaml", "fieldPath: metadata.name", "fieldPath: spec.nodeName", "env.Iris__Sessions__Kubernetes__ReplicaId must come from the downward API")]
    [InlineData("web", "web.yaml", "value: /etc/iris/runner-pod.yaml", "value: /etc/iris/pod.yaml", "env.Iris__Sessions__Kubernetes__PodTemplatePath ('/etc/iris/pod.yaml') must be where")]
    [InlineData("worker", "worker.yaml", "runtimeClassName: kata", "runtimeClassName: runc", "spec.template.spec.runtimeClassName must be kata")]
    [InlineData("worker", "worker.yaml", "add: [\"SYS_ADMIN\"]", "add: [\"SYS_ADMIN\", \"NET_ADMIN\"]", "securityContext.capabilities.add has NET_ADMIN; only SYS_ADMIN may be")]
    [InlineData("worker", "worker.yaml", "add: [\"SYS_ADMIN\"]", "add: [\"SYS_ADMIN\"]\n            privileged: true", "containers[worker].securityContext.privileged is true")]
    [InlineData("worker", "worker.yaml", "cpu: \"1\"\n              memory: 2Gi", "memory: 2Gi", "resources.requests.cpu is not set")]
    [InlineData("worker", "worker.yaml", "path: /healthz", "path: /healthz/ready", "livenessProbe.httpGet.path must be /healthz")]
    [InlineData("worker", "worker.yaml", "value: http://0.0.0.0:8081", "value: http://127.0.0.1:8081", "env.Iris__Worker__HealthUrl must be a non-loopback address")]
    [InlineData("worker", "worker.yaml", "terminationGracePeriodSeconds: 120", "terminationGracePeriodSeconds: 30", "terminationGracePeriodSeconds must be longer than Iris__Batch__DrainSeconds (90)")]
    [InlineData("ingress", "ingress.yaml", "proxy-read-timeout: \"600\"", "proxy-read-timeout: \"60\"", "annotations.nginx.ingress.kubernetes.io/proxy-read-timeout must be \"600\"")]
    [InlineData("ingress", "ingress.yaml", "proxy-send-timeout: \"600\"", "proxy-send-timeout: \"60\"", "annotations.nginx.ingress.kubernetes.io/proxy-send-timeout must be \"600\"")]
    [InlineData("ingress", "ingress.yaml", "    nginx.ingress.kubernetes.io/affinity: cookie\n", "", "annotations.nginx.ingress.kubernetes.io/affinity must be \"cookie\"")]
    [InlineData("ingress", "ingress.yaml", "proxy-http-version: \"1.1\"", "proxy-http-version: \"1.0\"", "proxy-http-version is 1.0: a WebSocket upgrade needs 1.1")]
    [InlineData("ingress", "ingress.yaml", "name: iris-web\n                port:", "name: iris-api\n                port:", "backend.service.name iris-api must be a Service selecting the web pods")]
    [InlineData("stateful", "rabbitmq.yaml", "readinessProbe:", "startupProbe:", "StatefulSet rabbitmq: spec.template.spec.containers[rabbitmq].readinessProbe is missing")]
    [InlineData("stateful", "postgres.yaml", "volumeClaimTemplates:", "volumeClaimTemplatez:", "StatefulSet postgres: spec.volumeClaimTemplates has no claim")]
    [InlineData("stateful", "postgres.yaml", "- name: data\n              mountPath: /var/lib/postgresql/data", "- name: scratch\n              mountPath: /var/lib/postgresql/data", "containers[postgres].volumeMounts mounts none of the volumeClaimTemplates")]
    [InlineData("stateful", "postgres.yaml", "  clusterIP: None\n", "", "StatefulSet postgres: spec.serviceName must name a headless Service")]
    public void A_check_names_what_a_changed_manifest_got_wrong(string check, string file, string original, string replacement, string problem)
    {
        Assert.Empty(Checks[check](Shipped));
        var problems = Checks[check](Shipped.With(file, original, replacement));
        Assert.True(problems.Any(p => p.Contains(problem, StringComparison.Ordinal)), $"expected a problem with \"{problem}\", got:\n{string.Join('\n', problems)}");
    }

    [Fact]
    public void A_manifest_the_kustomization_does_not_list_is_named() =>
        AssertProblem("kustomization", Shipped.WithFile("hpa.yaml", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: iris-web\n"), "resources does not list hpa.yaml");

    [Fact]
    public void A_second_binding_of_the_pod_manager_account_is_named() =>
        AssertProblem("rbac", Shipped.WithFile("rbac.yaml", Shipped.Texts["rbac.yaml"] + """
            ---
            apiVersion: rbac.authorization.k8s.io/v1
            kind: ClusterRoleBinding
            metadata:
              name: iris-pod-manager-view
            subjects:
              - kind: ServiceAccount
                name: iris-pod-manager
                namespace: iris
            roleRef:
              apiGroup: rbac.authorization.k8s.io
              kind: ClusterRole
              name: view
            """), "its account iris-pod-manager is bound 2 times");

    [Fact]
    public void Another_policy_that_opens_egress_from_runner_pods_is_named() =>
        AssertProblem("network", Shipped.WithFile("allow-dns.yaml", """
            apiVersion: networking.k8s.io/v1
            kind: NetworkPolicy
            metadata:
              name: allow-dns
              namespace: iris
            spec:
              podSelector: {}
              policyTypes: ["Egress"]
              egress:
                - ports:
                    - protocol: UDP
                      port: 53
            """), "allow-dns.yaml: NetworkPolicy allow-dns: spec.egress[0] lets runner pods send traffic out");

    private static void AssertNoProblems(string check)
    {
        var problems = Checks[check](Shipped);
        Assert.True(problems.Count == 0, $"deploy/kubernetes ({check}):\n{string.Join('\n', problems)}");
    }

    private static void AssertProblem(string check, KubernetesManifests changed, string problem)
    {
        var problems = Checks[check](changed);
        Assert.True(problems.Any(p => p.Contains(problem, StringComparison.Ordinal)), $"expected a problem with \"{problem}\", got:\n{string.Join('\n', problems)}");
    }
}
