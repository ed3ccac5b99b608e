using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// The Docker engine the Docker backends talk to (<c>Iris:Docker</c>): where it listens and which OCI
/// runtime runs the containers (<c>runc</c>; <c>runsc</c> is gVisor; <c>kata-runtime</c> in production).
/// </summary>
public sealed class DockerOptions
{
    public const string SectionName = "Iris:Docker";

    /// <summary>The engine's address (<c>unix:///var/run/docker.sock</c>); empty: <c>DOCKER_HOST</c>, else the standard socket.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The OCI runtime of every container made (<c>runc</c>, <c>runsc</c>, <c>kata-runtime</c>); it must be registered with the daemon.</summary>
    public string Runtime { get; set; } = "runc";

    /// <summary>
    /// The Engine API version asked for. 1.41 is Docker 20.10's (Debian 12); newer daemons answer it too.
    /// </summary>
    public string ApiVersion { get; set; } = "1.41";

    /// <summary>How long one API call may take before it counts as the daemon not answering.</summary>
    public double RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>The endpoint in use: <see cref="Endpoint"/>, else <c>DOCKER_HOST</c>, else the standard socket.</summary>
    public Uri ResolveEndpoint() => new(
        Endpoint is { Length: > 0 } configured ? configured
        : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } fromEnvironment ? fromEnvironment
        : "unix:///var/run/docker.sock");
}

internal sealed class DockerOptionsValidator : IValidateOptions<DockerOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        var problems = new List<string>();
        try
        {
            var endpoint = options.ResolveEndpoint();
            if (endpoint.Scheme is not ("unix" or "tcp" or "http" or "https"))
            {
                problems.Add($"Iris:Docker:Endpoint '{endpoint}' must be a unix://, tcp:// or http(s):// address");
            }
        }
        catch (UriFormatException e)
        {
            problems.Add($"Iris:Docker:Endpoint is not an address: {e.Message}");
        }

        if (string.IsNullOrWhiteSpace(options.Runtime) || options.Runtime.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')))
        {
            problems.Add("Iris:Docker:Runtime must name an OCI runtime registered with the daemon (runc, runsc, kata-runtime)");
        }

        if (!System.Version.TryParse(options.ApiVersion, out _))
        {
            problems.Add("Iris:Docker:ApiVersion must be a version such as 1.41");
        }

        if (!(options.RequestTimeoutSeconds > 0))
        {
            problems.Add("Iris:Docker:RequestTimeoutSeconds must be positive");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
