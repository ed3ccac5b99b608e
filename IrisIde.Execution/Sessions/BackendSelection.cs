using IrisIde.Execution.Admission;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions;

/// <summary>
/// The one place where configuration picks the backends, for the web app and both worker modes alike:
/// <c>Iris:Sessions:Host</c> (where interactive sessions run) and <c>Iris:Sandbox:Kind</c> (what each run
/// is contained in). An unknown value stops start-up with a message naming the valid ones.
/// </summary>
public static class BackendSelection
{
    public const string SessionHostKey = "Iris:Sessions:Host";

    public const string SandboxKindKey = "Iris:Sandbox:Kind";

    /// <summary>Session hosts this build knows.</summary>
    public static IReadOnlyList<string> SessionHosts { get; } = ["Local", "Docker", "Kubernetes"];

    public static IReadOnlyList<string> SandboxKinds { get; } = ["Bubblewrap", "Process", "Docker"];

    /// <summary>Adds the configured sandbox and session host (defaults: <c>Bubblewrap</c>, <c>Local</c>).</summary>
    public static IrisExecutionBuilder AddConfiguredBackends(this IrisExecutionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var sandbox = Pick(builder.Configuration, SandboxKindKey, SandboxKinds);
        switch (sandbox)
        {
            case "Bubblewrap":
                builder.Services.AddBubblewrapSandbox();
                break;
            case "Process":
                builder.Services.AddProcessSandbox();
                break;
            case "Docker":
                Docker.DockerServiceCollectionExtensions.AddDockerSandbox(builder.Services, builder.Configuration);
                break;
        }

        var host = Pick(builder.Configuration, SessionHostKey, SessionHosts);
        Func<IServiceProvider, ISessionHost> inner = host switch
        {
            "Local" => provider => provider.GetRequiredService<LocalSessionHost>(),
            "Docker" => provider => provider.GetRequiredService<Docker.DockerSessionHost>(),
            "Kubernetes" => provider => provider.GetRequiredService<Kubernetes.KubernetesSessionHost>(),
            _ => throw new InvalidOperationException($"{SessionHostKey}='{host}' has no registration."),
        };
        builder.Services.TryAddSingleton<LocalSessionHost>();
        if (host == "Docker")
        {
            Docker.DockerServiceCollectionExtensions.AddDockerSessions(builder.Services, builder.Configuration);
        }
        else if (host == "Kubernetes")
        {
            Kubernetes.KubernetesServiceCollectionExtensions.AddKubernetesSessions(builder.Services, builder.Configuration);
        }

        builder.AddAdmission();

        // Every surface gets the configured host behind admission; nothing reaches a backend around it. Metering sits
        // outside admission so it counts refusals too.
        builder.Services.TryAddSingleton<ISessionHost>(provider => new MeteringSessionHost(
            new AdmittingSessionHost(inner(provider), provider.GetRequiredService<RunAdmission>()),
            provider.GetRequiredService<IrisMetrics>()));
        return builder;
    }

    /// <summary>The admission layer's options (<c>Iris:Admission</c>), the host's resources and <see cref="RunAdmission"/>.</summary>
    public static IrisExecutionBuilder AddAdmission(this IrisExecutionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<AdmissionOptions>()
            .Bind(builder.Configuration.GetSection(AdmissionOptions.SectionName))
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdmissionOptions>, AdmissionOptionsValidator>());
        builder.Services.AddRunCapacity();
        builder.Services.TryAddSingleton<RunAdmission>();
        return builder;
    }

    /// <summary>The configured value (first of <paramref name="valid"/> when unset), spelled as in <paramref name="valid"/>.</summary>
    private static string Pick(IConfiguration configuration, string key, IReadOnlyList<string> valid)
    {
        var value = configuration[key];
        if (string.IsNullOrWhiteSpace(value))
        {
            return valid[0];
        }

        return valid.FirstOrDefault(v => string.Equals(v, value.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new InvalidOperationException($"{key}='{value}' is not known: use one of {string.Join(", ", valid)}.");
    }
}
