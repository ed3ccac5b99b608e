using IrisIde.Execution;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Kubernetes;
using IrisIde.Tests.Protocol;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// The execution layer with <c>Iris:Sessions:Host=Kubernetes</c> against an in-test API server whose kubelet runs each
/// runner pod as a real <c>IrisIde.Worker runner</c> process (no cluster can run here): the configured (admitted,
/// metered) host, the Kubernetes host itself, its pool and reaper. The runner pods come from the deploy files' template.
/// </summary>
internal sealed class KubernetesHostHarness : IAsyncDisposable
{
    public const string Namespace = "iris-test";

    /// <summary>What stands in for the runner pod's own isolation (a VM under Kata): the bubblewrap sandbox on this host.</summary>
    public static readonly IReadOnlyDictionary<string, string?> RunnerSandbox = new Dictionary<string, string?>(ProtocolTestSandbox.Settings)
    {
        ["Iris:Sandbox:Kind"] = "Bubblewrap",
        ["Iris:Sandbox:CgroupParent"] = "iris-k8s-runners",
    };

    private readonly string _folder;
    private readonly bool _ownsServer;
    private ServiceProvider? _services;

    private KubernetesHostHarness(TestKubernetesApiServer server, bool ownsServer, string folder)
    {
        Server = server;
        _ownsServer = ownsServer;
        _folder = folder;
    }

    public TestKubernetesApiServer Server { get; }

    public ISessionHost Host { get; private set; } = default!;

    public KubernetesRunnerPool Pool { get; private set; } = default!;

    public KubernetesRunnerReaper Reaper { get; private set; } = default!;

    public string Replica { get; private set; } = default!;

    /// <summary>
    /// A host on <paramref name="server"/> (a new one when null, disposed with the harness). <paramref name="poolSize"/>
    /// runners wait once the pool's <c>Replenish</c> runs (no hosted service runs here).
    /// </summary>
    public static async Task<KubernetesHostHarness> StartAsync(
        int poolSize = 0,
        IReadOnlyDictionary<string, string?>? overrides = null,
        TestKubernetesApiServer? server = null,
        TestKubernetesApiServerOptions? serverOptions = null)
    {
        var folder = Directory.CreateTempSubdirectory("iris-k8s-host-").FullName;
        var owns = server is null;
        server ??= await TestKubernetesApiServer.StartAsync(serverOptions ?? ServerOptions());
        var harness = new KubernetesHostHarness(server, owns, folder);
        harness.Build(Settings(server, folder, poolSize, overrides));
        return harness;
    }

    /// <summary>An API server that, like a real one, answers only to a bearer token (the service account's), with runners on bubblewrap.</summary>
    public static TestKubernetesApiServerOptions ServerOptions() => new() { RunnerSettings = RunnerSandbox, BearerToken = "iris-test-service-account" };

    /// <summary>The web app's settings for Kubernetes sessions on <paramref name="server"/>.</summary>
    public static Dictionary<string, string?> Settings(TestKubernetesApiServer server, string folder, int poolSize, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var template = Path.Combine(folder, "runner-pod.yaml");
        File.WriteAllText(template, KubernetesRunnerPodTests.DeployTemplate());
        var settings = new Dictionary<string, string?>(ProtocolTestSandbox.Settings)
        {
            ["Iris:Sessions:Host"] = "Kubernetes",
            ["Iris:Kubernetes:Kubeconfig"] = server.WriteKubeconfig(Path.Combine(folder, "kubeconfig"), Namespace),
            ["Iris:Kubernetes:RequestTimeoutSeconds"] = "10",
            ["Iris:Sessions:Kubernetes:Namespace"] = Namespace,
            ["Iris:Sessions:Kubernetes:PodTemplatePath"] = template,
            ["Iris:Sessions:Kubernetes:Image"] = TestKubernetesApiServerOptions.DefaultRunnerImage,
            ["Iris:Sessions:Kubernetes:PoolSize"] = poolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // No growth with demand unless a test asks for it: a pod started behind a test's back would be miscounted.
            ["Iris:Sessions:Kubernetes:MaxPoolSize"] = poolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Iris:Sessions:Kubernetes:ReplicaId"] = "iris-web-" + Guid.NewGuid().ToString("N")[..8],
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>Runner pods (in any phase) of <paramref name="replica"/>, or of every replica.</summary>
    public static IReadOnlyList<V1Pod> RunnerPods(TestKubernetesApiServer server, string? replica = null) =>
        [.. server.Pods.Where(p => p.Metadata.Labels?.ContainsKey("iris.dev/runner") == true
            && (replica is null || p.Metadata.Labels.TryGetValue("iris.dev/replica", out var r) && r == replica))];

    public IReadOnlyList<V1Pod> RunnerPods() => RunnerPods(Server, Replica);

    /// <summary>Waits until <paramref name="condition"/> holds, asking every 100 ms for up to 120 s.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("waited in vain for " + what);
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for this replica's runner pods; returns them.</summary>
    public async Task<IReadOnlyList<V1Pod>> WaitForPodsAsync(Func<IReadOnlyList<V1Pod>, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var pods = RunnerPods();
            if (done(pods))
            {
                return pods;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"runner pods of {Replica} never reached the expected state; now: {string.Join(", ", pods.Select(p => $"{p.Metadata.Name} {p.Status?.Phase}"))}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// Abandons the services without disposing them, as a killed web app would: nothing it holds is deleted. (Nothing
    /// of it runs on: no hosted service runs in this harness.)
    /// </summary>
    public void Crash() => _services = null;

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        if (_ownsServer)
        {
            await Server.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    private void Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Host = _services.GetRequiredService<ISessionHost>();
        Pool = _services.GetRequiredService<KubernetesRunnerPool>();
        Reaper = _services.GetRequiredService<KubernetesRunnerReaper>();
        Replica = _services.GetRequiredService<KubernetesReplica>().Id;
    }
}
