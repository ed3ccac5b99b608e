using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace IrisIde.Tests.Deploy;

/// <summary>
/// What <c>deploy/kubernetes</c> must say for the runner pods to be as isolated and sized as the seed's, for only the web
/// app to manage pods, and for the services to be reachable and probed. No cluster runs on the build machines, so
/// nothing else reads these files before an operator applies them. Each check returns its problems, each naming the
/// file, the object and the field, so that a test can feed it a manifest changed on purpose and see it named.
/// </summary>
public static class KubernetesManifestChecks
{
    public const string Namespace = "iris";
    public const string RuntimeClass = "kata";
    public const string WebDeployment = "iris-web";
    public const string WorkerDeployment = "iris-worker";
    public const string ExampleSecretFile = "secrets.example.yaml";

    /// <summary>The labels the runner pods carry; <c>component</c> is the one the NetworkPolicy selects.</summary>
    private static readonly Dictionary<string, string> RunnerLabels = new(StringComparer.Ordinal)
    {
        ["app.kubernetes.io/name"] = "iris-runner",
        ["app.kubernetes.io/component"] = "runner",
        ["app.kubernetes.io/part-of"] = "iris",
    };

    /// <summary>The seed's runner pods: limits 0.5 CPU / 0.5 GiB, requests 0.2 CPU / 0.2 GiB.</summary>
    private static readonly (string Field, string Value)[] RunnerResources =
    [
        ("limits.cpu", "500m"), ("limits.memory", "512Mi"), ("requests.cpu", "200m"), ("requests.memory", "200Mi"),
    ];

    /// <summary>What a Docker runner gets from <c>DockerRunnerFactory</c>, which a runner in a pod needs alike.</summary>
    private static readonly (string Name, string Value)[] RunnerEnvironment =
    [
        ("ASPNETCORE_URLS", "http://0.0.0.0:8080"),
        ("Iris__Sandbox__Kind", "Process"),
        ("Iris__Limits__WorkspaceRoot", "/tmp/iris-runs"),
        ("Iris__Sandbox__Capacity__MemoryBytes", "536870912"),
        ("Iris__Sandbox__Capacity__MaxProcesses", "512"),
    ];

    private static readonly string[] PodManagerVerbs = ["create", "get", "list", "watch", "delete"];

    /// <summary>Everything in the folder is applied, except the example Secret, whose real one is made out of band.</summary>
    public static List<string> Kustomization(KubernetesManifests manifests)
    {
        var problems = new List<string>();
        if (manifests.OfKind("Kustomization").SingleOrDefault() is not { } kustomization)
        {
            return ["deploy/kubernetes: no single Kustomization document (kustomization.yaml)"];
        }

        var listed = kustomization.Root.Texts("resources");
        var files = manifests.Texts.Keys.Where(f => f != kustomization.Source && f != ExampleSecretFile).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(files.Except(listed, StringComparer.Ordinal).Order(StringComparer.Ordinal)
            .Select(f => $"{kustomization}: resources does not list {f}, so kubectl apply -k leaves it out"));
        problems.AddRange(listed.Where(f => f == ExampleSecretFile)
            .Select(f => $"{kustomization}: resources lists {f}, an example whose change-me passwords would be applied"));
        problems.AddRange(listed.Where(f => f != ExampleSecretFile && !files.Contains(f))
            .Select(f => $"{kustomization}: resources lists {f}, which is not a manifest in deploy/kubernetes"));
        problems.AddRange(listed.GroupBy(f => f, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"{kustomization}: resources lists {g.Key} {g.Count()} times"));
        return problems;
    }

    /// <summary>
    /// The runner pod runs students' code: under Kata, with the seed's limits, no service-account token, no privilege,
    /// no capability, nothing of the host, a read-only root, and the label the NetworkPolicy selects.
    /// </summary>
    public static List<string> RunnerPod(KubernetesManifests manifests)
    {
        if (manifests.RunnerPod is not { } pod)
        {
            return [$"{KubernetesManifests.RunnerTemplateFile}: no ConfigMap with data {KubernetesManifests.RunnerTemplateKey} holding the runner Pod"];
        }

        var problems = new List<string>();
        void Expect(bool ok, string field, string problem)
        {
            if (!ok)
            {
                problems.Add($"{pod}: {field} {problem}");
            }
        }

        var spec = pod.Root.Child("spec");
        Expect(pod.Kind == "Pod", "kind", $"must be Pod, is '{pod.Kind}'");
        Expect(spec.Text("runtimeClassName") == RuntimeClass, "spec.runtimeClassName", $"must be {RuntimeClass} (a VM per session, as the seed's), is '{spec.Text("runtimeClassName")}'");
        Expect(manifests.Find("RuntimeClass", RuntimeClass) is not null, "spec.runtimeClassName", $"names RuntimeClass {RuntimeClass}, which no manifest defines");
        Expect(spec.IsFalse("automountServiceAccountToken"), "spec.automountServiceAccountToken", $"must be false (student code must not hold an API token), is '{spec.Text("automountServiceAccountToken")}'");
        Expect(spec.IsFalse("enableServiceLinks"), "spec.enableServiceLinks", $"must be false (no service addresses in the runner's environment), is '{spec.Text("enableServiceLinks")}'");
        Expect(spec.Text("restartPolicy") == "Never", "spec.restartPolicy", $"must be Never (a runner serves one session and is deleted), is '{spec.Text("restartPolicy")}'");
        problems.AddRange(HostAccess(pod, "spec", spec));

        var labels = pod.Root.Map("metadata", "labels");
        foreach (var (label, value) in RunnerLabels)
        {
            Expect(labels.GetValueOrDefault(label) == value, $"metadata.labels.{label}", $"must be {value}, is '{labels.GetValueOrDefault(label)}'");
        }

        var containers = spec.Items("containers");
        Expect(containers.Count > 0, "spec.containers", "is empty");
        foreach (var container in spec.Items("initContainers").Concat(containers))
        {
            var field = $"spec.containers[{container.Text("name")}]";
            problems.AddRange(Unprivileged(pod, field, container, mayAdd: []));
            problems.AddRange(NonRoot(pod, field, spec, container, requireUser: true));
            var seccomp = Effective(spec, container, "seccompProfile", "type");
            Expect(seccomp == "RuntimeDefault", $"{field}.securityContext.seccompProfile.type", $"(or the pod's) must be RuntimeDefault, is '{seccomp}'");
            Expect(container.IsTrue("securityContext", "readOnlyRootFilesystem"), $"{field}.securityContext.readOnlyRootFilesystem", "must be true (/tmp is the one writable place)");
        }

        foreach (var container in containers)
        {
            var field = $"spec.containers[{container.Text("name")}]";
            foreach (var (resource, value) in RunnerResources)
            {
                var actual = container.Text(["resources", .. resource.Split('.')]);
                Expect(actual == value, $"{field}.resources.{resource}", $"must be {value} (the seed's runner pods), is '{actual}'");
            }

            var http = ContainerPort(container, "http");
            Expect(http is not null, $"{field}.ports", "has no port named http");
            Expect(container.Text("readinessProbe", "httpGet", "path") == "/healthz", $"{field}.readinessProbe.httpGet.path", $"must be /healthz, is '{container.Text("readinessProbe", "httpGet", "path")}'");
            var probed = ContainerPort(container, container.Text("readinessProbe", "httpGet", "port"));
            Expect(probed is not null && probed == http, $"{field}.readinessProbe.httpGet.port", $"must be the http port ({http}), is '{container.Text("readinessProbe", "httpGet", "port")}'");

            var environment = LiteralEnvironment(container);
            foreach (var (name, value) in RunnerEnvironment)
            {
                Expect(environment.GetValueOrDefault(name) == value, $"{field}.env.{name}", $"must be {value}, is '{environment.GetValueOrDefault(name)}'");
            }
        }

        return problems;
    }

    /// <summary>
    /// Only the web app's account may touch pods, through one namespaced Role with the five verbs the pod manager uses;
    /// every other pod either mounts no token or one that is bound to nothing.
    /// </summary>
    public static List<string> Rbac(KubernetesManifests manifests)
    {
        if (manifests.Find("Deployment", WebDeployment) is not { } web)
        {
            return [$"deploy/kubernetes: no Deployment {WebDeployment}"];
        }

        var problems = new List<string>();
        var account = web.Root.Text("spec", "template", "spec", "serviceAccountName");
        if (account is null or "default")
        {
            return [$"{web}: spec.template.spec.serviceAccountName must name the pod manager's account, is '{account}'"];
        }

        if (manifests.Find("ServiceAccount", account) is null)
        {
            problems.Add($"{web}: spec.template.spec.serviceAccountName names ServiceAccount {account}, which no manifest defines");
        }

        var bindings = Bindings(manifests, account).ToList();
        foreach (var binding in bindings.Where(b => b.Kind != "RoleBinding" || b.Root.Text("roleRef", "kind") != "Role"))
        {
            problems.Add($"{binding}: binds {account} to {binding.Root.Text("roleRef", "kind")} {binding.Root.Text("roleRef", "name")}; only a RoleBinding to a Role in {Namespace} may");
        }

        if (bindings.Count != 1)
        {
            problems.Add($"{web}: its account {account} is bound {bindings.Count} times ({string.Join(", ", bindings)}); it must be bound once, to the pod manager's Role");
        }

        foreach (var binding in bindings.Where(b => b.Kind == "RoleBinding" && b.Root.Text("roleRef", "kind") == "Role"))
        {
            var role = manifests.OfKind("Role").FirstOrDefault(r => r.Name == binding.Root.Text("roleRef", "name") && NamespaceOf(r) == NamespaceOf(binding));
            if (role is null)
            {
                problems.Add($"{binding}: roleRef names Role {binding.Root.Text("roleRef", "name")}, which no manifest defines in {NamespaceOf(binding)}");
                continue;
            }

            problems.AddRange(PodManagerRules(role));
        }

        foreach (var (document, field, spec) in PodSpecs(manifests).Where(p => p.Document != web))
        {
            var used = spec.Text("serviceAccountName") ?? "default";
            if (used == account)
            {
                problems.Add($"{document}: {field}.serviceAccountName is {account}, the pod manager's: only the web app may create pods");
            }
            else if (!spec.IsFalse("automountServiceAccountToken") && Bindings(manifests, used).Any())
            {
                problems.Add($"{document}: {field}.automountServiceAccountToken is not false and its account {used} is bound to a role");
            }
        }

        return problems;
    }

    /// <summary>Runner pods reach nothing (DNS included) and are reached only by the web pods, on the runner's port.</summary>
    public static List<string> NetworkPolicy(KubernetesManifests manifests)
    {
        if (manifests.RunnerPod is not { } runner || manifests.Find("Deployment", WebDeployment) is not { } web)
        {
            return ["deploy/kubernetes: the runner pod template or the web Deployment is missing"];
        }

        var problems = new List<string>();
        var runnerLabels = runner.Root.Map("metadata", "labels");
        var webLabels = web.Root.Map("spec", "template", "metadata", "labels");
        var runnerContainers = runner.Root.Items("spec", "containers");
        var runnerContainer = runnerContainers.Count > 0 ? runnerContainers[0] : null;
        var runnerPort = runnerContainer is null ? null : ContainerPort(runnerContainer, "http");

        // Policies add up: every one that selects runner pods must hold, not only the one written for them.
        var policies = manifests.OfKind("NetworkPolicy").Where(p => Selects(p.Root.Child("spec", "podSelector"), runnerLabels)).ToList();
        if (policies.Count == 0)
        {
            problems.Add($"deploy/kubernetes: no NetworkPolicy's spec.podSelector selects the runner pods ({string.Join(", ", runnerLabels.Select(l => $"{l.Key}={l.Value}"))} in {runner.Source})");
        }

        foreach (var type in (string[])["Ingress", "Egress"])
        {
            if (policies.Count > 0 && !policies.Any(p => p.Root.Texts("spec", "policyTypes").Contains(type, StringComparer.Ordinal)))
            {
                problems.Add($"{policies[0]}: spec.policyTypes lacks {type} (as does every other policy selecting the runner pods), so their {type.ToLowerInvariant()} is not restricted");
            }
        }

        foreach (var policy in policies)
        {

            var egress = policy.Root.Items("spec", "egress");
            for (var i = 0; i < egress.Count; i++)
            {
                problems.Add($"{policy}: spec.egress[{i}] lets runner pods send traffic out; there must be no egress rule (all denied, DNS included)");
            }

            var ingress = policy.Root.Items("spec", "ingress");
            for (var i = 0; i < ingress.Count; i++)
            {
                var from = ingress[i].Items("from");
                if (from.Count == 0)
                {
                    problems.Add($"{policy}: spec.ingress[{i}].from is empty: any pod or address may reach the runner pods");
                }

                for (var j = 0; j < from.Count; j++)
                {
                    var selector = from[j].Map("podSelector", "matchLabels");
                    if (from[j].Child("namespaceSelector") is not null || from[j].Child("ipBlock") is not null)
                    {
                        problems.Add($"{policy}: spec.ingress[{i}].from[{j}] admits other namespaces or addresses; only the web pods may reach runner pods");
                    }
                    else if (selector.Count == 0 || !selector.All(l => webLabels.GetValueOrDefault(l.Key) == l.Value))
                    {
                        problems.Add($"{policy}: spec.ingress[{i}].from[{j}].podSelector.matchLabels ({string.Join(", ", selector.Select(l => $"{l.Key}={l.Value}"))}) must select the web pods' labels ({web.Source})");
                    }
                }

                var ports = ingress[i].Items("ports");
                if (ports.Count == 0)
                {
                    problems.Add($"{policy}: spec.ingress[{i}].ports is empty: every port of the runner pods is open");
                }

                for (var j = 0; j < ports.Count; j++)
                {
                    var port = ports[j].Text("port");
                    var number = runnerContainer is null ? null : ContainerPort(runnerContainer, port);
                    if (number is null || number != runnerPort || (ports[j].Text("protocol") ?? "TCP") != "TCP")
                    {
                        problems.Add($"{policy}: spec.ingress[{i}].ports[{j}] is {ports[j].Text("protocol")}/{port}; only the runner's http port ({runnerPort}, TCP) may be open");
                    }
                }
            }
        }

        return problems;
    }

    /// <summary>The web app: probed as its health endpoints mean, non-root, unprivileged, sized, and pointed at the template.</summary>
    public static List<string> Web(KubernetesManifests manifests)
    {
        if (manifests.Find("Deployment", WebDeployment) is not { } web)
        {
            return [$"deploy/kubernetes: no Deployment {WebDeployment}"];
        }

        var problems = new List<string>();
        var spec = web.Root.Child("spec", "template", "spec");
        problems.AddRange(HostAccess(web, "spec.template.spec", spec));
        var containers = spec.Items("containers");
        if (containers.Count == 0)
        {
            problems.Add($"{web}: spec.template.spec.containers is empty");
        }

        foreach (var container in containers)
        {
            var field = $"spec.template.spec.containers[{container.Text("name")}]";
            problems.AddRange(Probe(web, field, container, "readinessProbe", "/healthz/ready"));
            problems.AddRange(Probe(web, field, container, "livenessProbe", "/healthz/live"));
            problems.AddRange(NonRoot(web, field, spec, container, requireUser: false));
            problems.AddRange(Unprivileged(web, field, container, mayAdd: []));
            problems.AddRange(Requests(web, field, container));

            var environment = container.Items("env");
            var replica = environment.FirstOrDefault(e => e.Text("name") == "Iris__Sessions__Kubernetes__ReplicaId");
            if (replica.Text("valueFrom", "fieldRef", "fieldPath") != "metadata.name")
            {
                problems.Add($"{web}: {field}.env.Iris__Sessions__Kubernetes__ReplicaId must come from the downward API (valueFrom.fieldRef.fieldPath: metadata.name)");
            }

            problems.AddRange(TemplateMount(manifests, web, field, spec, container));
        }

        return problems;
    }

    /// <summary>
    /// Workers: each a Kata VM (the seed's design), in which a worker is root with SYS_ADMIN for bubblewrap and the
    /// per-run cgroups — so Kata is what bounds them, not a non-root user — with no other capability added, no
    /// privileged mode, requests set, a liveness probe on the health endpoint it is told to serve, and time to drain.
    /// </summary>
    public static List<string> Worker(KubernetesManifests manifests)
    {
        if (manifests.Find("Deployment", WorkerDeployment) is not { } worker)
        {
            return [$"deploy/kubernetes: no Deployment {WorkerDeployment}"];
        }

        var problems = new List<string>();
        var spec = worker.Root.Child("spec", "template", "spec");
        if (spec.Text("runtimeClassName") != RuntimeClass)
        {
            problems.Add($"{worker}: spec.template.spec.runtimeClassName must be {RuntimeClass} (root with SYS_ADMIN is acceptable only inside a VM), is '{spec.Text("runtimeClassName")}'");
        }

        problems.AddRange(HostAccess(worker, "spec.template.spec", spec));
        foreach (var container in spec.Items("containers"))
        {
            var field = $"spec.template.spec.containers[{container.Text("name")}]";
            problems.AddRange(Unprivileged(worker, field, container, mayAdd: ["SYS_ADMIN"], requireNoEscalation: false, requireDropAll: false));
            problems.AddRange(Requests(worker, field, container));
            problems.AddRange(Probe(worker, field, container, "livenessProbe", "/healthz"));

            var environment = LiteralEnvironment(container);
            if (!Uri.TryCreate(environment.GetValueOrDefault("Iris__Worker__HealthUrl"), UriKind.Absolute, out var health) || health.IsLoopback)
            {
                problems.Add($"{worker}: {field}.env.Iris__Worker__HealthUrl must be a non-loopback address (the kubelet probes the pod's IP), is '{environment.GetValueOrDefault("Iris__Worker__HealthUrl")}'");
            }
            else if (ContainerPort(container, container.Text("livenessProbe", "httpGet", "port")) != health.Port)
            {
                problems.Add($"{worker}: {field}.livenessProbe.httpGet.port must be the port of Iris__Worker__HealthUrl ({health.Port}), is '{container.Text("livenessProbe", "httpGet", "port")}'");
            }

            if (int.TryParse(environment.GetValueOrDefault("Iris__Batch__DrainSeconds"), CultureInfo.InvariantCulture, out var drain)
                && !(int.TryParse(spec.Text("terminationGracePeriodSeconds"), CultureInfo.InvariantCulture, out var grace) && grace > drain))
            {
                problems.Add($"{worker}: spec.template.spec.terminationGracePeriodSeconds must be longer than Iris__Batch__DrainSeconds ({drain}), is '{spec.Text("terminationGracePeriodSeconds")}'");
            }
        }

        return problems;
    }

    /// <summary>
    /// The ingress-nginx annotations the seed's nginx had in effect: WebSocket upgrade (built into ingress-nginx, which
    /// needs HTTP/1.1 to the backend), 600 s read and send timeouts (the 10-minute idle rule) and cookie affinity (a
    /// Blazor circuit lives in one web pod); and a backend that is the web Service.
    /// </summary>
    public static List<string> Ingress(KubernetesManifests manifests)
    {
        var ingresses = manifests.OfKind("Ingress").ToList();
        if (ingresses.Count == 0)
        {
            return ["deploy/kubernetes: no Ingress"];
        }

        var problems = new List<string>();
        const string Prefix = "nginx.ingress.kubernetes.io/";
        (string Annotation, string Value, string Why)[] required =
        [
            ("proxy-read-timeout", "600", "a quiet WebSocket is closed after 600 s, not nginx's 60"),
            ("proxy-send-timeout", "600", "a quiet WebSocket is closed after 600 s, not nginx's 60"),
            ("affinity", "cookie", "a Blazor Server circuit lives in one web pod"),
            ("affinity-mode", "persistent", "a circuit must not move when replicas are added"),
        ];
        var webLabels = manifests.Find("Deployment", WebDeployment)?.Root.Map("spec", "template", "metadata", "labels") ?? new Dictionary<string, string>();
        foreach (var ingress in ingresses)
        {
            if (ingress.Root.Text("spec", "ingressClassName") != "nginx")
            {
                problems.Add($"{ingress}: spec.ingressClassName must be nginx (the annotations are ingress-nginx's), is '{ingress.Root.Text("spec", "ingressClassName")}'");
            }

            var annotations = ingress.Root.Map("metadata", "annotations");
            foreach (var (annotation, value, why) in required)
            {
                if (annotations.GetValueOrDefault(Prefix + annotation) != value)
                {
                    problems.Add($"{ingress}: metadata.annotations.{Prefix}{annotation} must be \"{value}\" ({why}), is '{annotations.GetValueOrDefault(Prefix + annotation)}'");
                }
            }

            if (annotations.TryGetValue(Prefix + "proxy-http-version", out var version) && version != "1.1")
            {
                problems.Add($"{ingress}: metadata.annotations.{Prefix}proxy-http-version is {version}: a WebSocket upgrade needs 1.1");
            }

            var backends = ingress.Root.Items("spec", "rules").SelectMany(r => r.Items("http", "paths")).Select(p => p.Child("backend", "service")).ToList();
            if (backends.Count == 0)
            {
                problems.Add($"{ingress}: spec.rules has no http path");
            }

            foreach (var backend in backends)
            {
                var service = manifests.Find("Service", backend.Text("name") ?? "");
                var port = backend.Text("port", "name") ?? backend.Text("port", "number");
                var selector = service?.Root.Map("spec", "selector");
                if (service is null || selector is null || selector.Count == 0 || !selector.All(l => webLabels.GetValueOrDefault(l.Key) == l.Value))
                {
                    problems.Add($"{ingress}: spec.rules[].http.paths[].backend.service.name {backend.Text("name")} must be a Service selecting the web pods");
                }
                else if (!service.Root.Items("spec", "ports").Any(p => p.Text("name") == port || p.Text("port") == port))
                {
                    problems.Add($"{ingress}: spec.rules[].http.paths[].backend.service.port {port} is not a port of {service}");
                }
            }
        }

        return problems;
    }

    /// <summary>RabbitMQ and PostgreSQL: StatefulSets whose data is on a claim, not in the container, and that are probed.</summary>
    public static List<string> StatefulServices(KubernetesManifests manifests)
    {
        var problems = new List<string>();
        foreach (var name in (string[])["rabbitmq", "postgres"])
        {
            if (manifests.Find("StatefulSet", name) is not { } set)
            {
                problems.Add($"deploy/kubernetes: no StatefulSet {name}");
                continue;
            }

            var claims = set.Root.Items("spec", "volumeClaimTemplates")
                .Where(c => c.Text("spec", "resources", "requests", "storage") is not null)
                .Select(c => c.Text("metadata", "name"))
                .ToList();
            if (claims.Count == 0)
            {
                problems.Add($"{set}: spec.volumeClaimTemplates has no claim with resources.requests.storage: its data would not survive the pod");
            }

            foreach (var container in set.Root.Items("spec", "template", "spec", "containers"))
            {
                var field = $"spec.template.spec.containers[{container.Text("name")}]";
                if (container.Child("readinessProbe") is not YamlMappingNode probe || (probe.Child("exec") ?? probe.Child("httpGet") ?? probe.Child("tcpSocket") ?? probe.Child("grpc")) is null)
                {
                    problems.Add($"{set}: {field}.readinessProbe is missing: clients would be sent to a server that is not up");
                }

                if (!container.Items("volumeMounts").Any(m => claims.Contains(m.Text("name"))))
                {
                    problems.Add($"{set}: {field}.volumeMounts mounts none of the volumeClaimTemplates ({string.Join(", ", claims)})");
                }
            }

            var serviceName = set.Root.Text("spec", "serviceName") ?? "";
            if (manifests.Find("Service", serviceName) is not { } service || service.Root.Text("spec", "clusterIP") != "None")
            {
                problems.Add($"{set}: spec.serviceName must name a headless Service (clusterIP: None), is '{serviceName}'");
            }
        }

        return problems;
    }

    private static IEnumerable<string> PodManagerRules(ManifestDocument role)
    {
        var rules = role.Root.Items("rules");
        if (rules.Count != 1)
        {
            yield return $"{role}: rules has {rules.Count} rules; its only rule must be pods {string.Join("/", PodManagerVerbs)}";
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (!rule.Texts("apiGroups").SequenceEqual([""], StringComparer.Ordinal))
            {
                yield return $"{role}: rules[{i}].apiGroups must be [\"\"] (the core group), is [{string.Join(", ", rule.Texts("apiGroups"))}]";
            }

            if (!rule.Texts("resources").SequenceEqual(["pods"], StringComparer.Ordinal))
            {
                yield return $"{role}: rules[{i}].resources must be [pods], is [{string.Join(", ", rule.Texts("resources"))}]";
            }

            var verbs = rule.Texts("verbs");
            foreach (var verb in verbs.Except(PodManagerVerbs, StringComparer.Ordinal))
            {
                yield return $"{role}: rules[{i}].verbs has {verb}, which the pod manager does not use";
            }

            foreach (var verb in PodManagerVerbs.Except(verbs, StringComparer.Ordinal))
            {
                yield return $"{role}: rules[{i}].verbs lacks {verb}, which the pod manager uses";
            }

            if (rule.Child("nonResourceURLs") is not null)
            {
                yield return $"{role}: rules[{i}].nonResourceURLs must not be there";
            }
        }
    }

    /// <summary>RoleBindings and ClusterRoleBindings with the ServiceAccount <paramref name="account"/> of the namespace as a subject.</summary>
    private static IEnumerable<ManifestDocument> Bindings(KubernetesManifests manifests, string account) =>
        manifests.Documents.Where(d => d.Kind is "RoleBinding" or "ClusterRoleBinding"
            && d.Root.Items("subjects").Any(s => s.Text("kind") == "ServiceAccount" && s.Text("name") == account && (s.Text("namespace") ?? NamespaceOf(d)) == Namespace));

    /// <summary>Every pod spec in the folder: workload templates, and the runner pod.</summary>
    private static IEnumerable<(ManifestDocument Document, string Field, YamlNode? Spec)> PodSpecs(KubernetesManifests manifests)
    {
        foreach (var document in manifests.Documents.Where(d => d.Kind is "Deployment" or "StatefulSet" or "DaemonSet" or "ReplicaSet" or "Job"))
        {
            yield return (document, "spec.template.spec", document.Root.Child("spec", "template", "spec"));
        }

        foreach (var pod in manifests.Documents.Where(d => d.Kind == "Pod").Append(manifests.RunnerPod).OfType<ManifestDocument>())
        {
            yield return (pod, "spec", pod.Root.Child("spec"));
        }
    }

    private static string NamespaceOf(ManifestDocument document) => document.Root.Text("metadata", "namespace") ?? "default";

    private static bool Selects(YamlNode? podSelector, IReadOnlyDictionary<string, string> labels) =>
        podSelector is YamlMappingNode && podSelector.Map("matchLabels").All(l => labels.GetValueOrDefault(l.Key) == l.Value);

    private static IEnumerable<string> HostAccess(ManifestDocument document, string field, YamlNode? spec)
    {
        foreach (var host in (string[])["hostNetwork", "hostPID", "hostIPC"])
        {
            if (spec.IsTrue(host))
            {
                yield return $"{document}: {field}.{host} is true: the pod would share the node's {host[4..]} namespace";
            }
        }

        foreach (var volume in spec.Items("volumes").Where(v => v.Child("hostPath") is not null))
        {
            yield return $"{document}: {field}.volumes[{volume.Text("name")}] is a hostPath volume: the node's files in the pod";
        }
    }

    private static IEnumerable<string> Unprivileged(ManifestDocument document, string field, YamlNode container, string[] mayAdd, bool requireNoEscalation = true, bool requireDropAll = true)
    {
        if (container.IsTrue("securityContext", "privileged"))
        {
            yield return $"{document}: {field}.securityContext.privileged is true";
        }

        if (requireNoEscalation && !container.IsFalse("securityContext", "allowPrivilegeEscalation"))
        {
            yield return $"{document}: {field}.securityContext.allowPrivilegeEscalation must be false, is '{container.Text("securityContext", "allowPrivilegeEscalation")}'";
        }

        if (requireDropAll && !container.Texts("securityContext", "capabilities", "drop").Contains("ALL", StringComparer.Ordinal))
        {
            yield return $"{document}: {field}.securityContext.capabilities.drop must contain ALL, is [{string.Join(", ", container.Texts("securityContext", "capabilities", "drop"))}]";
        }

        foreach (var added in container.Texts("securityContext", "capabilities", "add").Except(mayAdd, StringComparer.Ordinal))
        {
            yield return $"{document}: {field}.securityContext.capabilities.add has {added}{(mayAdd.Length == 0 ? "; nothing may be added" : $"; only {string.Join(", ", mayAdd)} may be")}";
        }
    }

    private static IEnumerable<string> NonRoot(ManifestDocument document, string field, YamlNode? spec, YamlNode container, bool requireUser)
    {
        if (Effective(spec, container, "runAsNonRoot") != "true")
        {
            yield return $"{document}: {field}.securityContext.runAsNonRoot (or the pod's) must be true";
        }

        var user = Effective(spec, container, "runAsUser");
        if ((user is null && requireUser) || (user is not null && (!long.TryParse(user, CultureInfo.InvariantCulture, out var uid) || uid == 0)))
        {
            yield return $"{document}: {field}.securityContext.runAsUser (or the pod's) must be a non-zero uid, is '{user}'";
        }
    }

    private static IEnumerable<string> Requests(ManifestDocument document, string field, YamlNode container)
    {
        foreach (var resource in (string[])["cpu", "memory"])
        {
            if (string.IsNullOrEmpty(container.Text("resources", "requests", resource)))
            {
                yield return $"{document}: {field}.resources.requests.{resource} is not set: the scheduler would place the pod as if it needed nothing";
            }
        }
    }

    private static IEnumerable<string> Probe(ManifestDocument document, string field, YamlNode container, string probe, string path)
    {
        var actual = container.Text(probe, "httpGet", "path");
        if (actual != path)
        {
            yield return $"{document}: {field}.{probe}.httpGet.path must be {path}, is '{actual}'";
        }

        if (ContainerPort(container, container.Text(probe, "httpGet", "port")) is null)
        {
            yield return $"{document}: {field}.{probe}.httpGet.port '{container.Text(probe, "httpGet", "port")}' is not a port of the container";
        }
    }

    /// <summary>The web app reads the runner pod from <c>PodTemplatePath</c>: that must be where the ConfigMap's key is mounted.</summary>
    private static IEnumerable<string> TemplateMount(KubernetesManifests manifests, ManifestDocument web, string field, YamlNode? spec, YamlNode container)
    {
        var template = manifests.OfKind("ConfigMap").FirstOrDefault(c => c.Root.Text("data", KubernetesManifests.RunnerTemplateKey) is not null);
        var volume = spec.Items("volumes").FirstOrDefault(v => template is not null && v.Text("configMap", "name") == template.Name);
        var mount = container.Items("volumeMounts").FirstOrDefault(m => volume is not null && m.Text("name") == volume.Text("name"));
        var expected = mount?.Text("mountPath") is { } path ? path.TrimEnd('/') + "/" + KubernetesManifests.RunnerTemplateKey : null;
        var actual = LiteralEnvironment(container).GetValueOrDefault("Iris__Sessions__Kubernetes__PodTemplatePath");
        if (expected is null || actual != expected)
        {
            yield return $"{web}: {field}.env.Iris__Sessions__Kubernetes__PodTemplatePath ('{actual}') must be where the runner template ConfigMap is mounted ('{expected}')";
        }

        var runnerNamespace = manifests.RunnerPod?.Root.Text("metadata", "namespace");
        if (LiteralEnvironment(container).GetValueOrDefault("Iris__Sessions__Kubernetes__Namespace") != runnerNamespace)
        {
            yield return $"{web}: {field}.env.Iris__Sessions__Kubernetes__Namespace must be the runner pod's namespace ({runnerNamespace})";
        }
    }

    private static string? Effective(YamlNode? spec, YamlNode container, params string[] path) =>
        container.Text(["securityContext", .. path]) ?? spec.Text(["securityContext", .. path]);

    /// <summary>The number of a container port given by name or number, or null when the container declares no such port.</summary>
    private static int? ContainerPort(YamlNode container, string? port)
    {
        var declared = container.Items("ports").FirstOrDefault(p => port is not null && (p.Text("name") == port || p.Text("containerPort") == port));
        return int.TryParse(declared.Text("containerPort"), CultureInfo.InvariantCulture, out var number) ? number : null;
    }

    /// <summary>The container's literal environment values (those from a source have none).</summary>
    private static Dictionary<string, string> LiteralEnvironment(YamlNode container) => container.Items("env")
        .Where(e => e.Text("name") is not null && e.Text("value") is not null)
        .ToDictionary(e => e.Text("name")!, e => e.Text("value")!, StringComparer.Ordinal);
}
