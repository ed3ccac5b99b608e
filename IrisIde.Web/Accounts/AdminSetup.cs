using System.Security.Cryptography;
using System.Text;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace IrisIde.Web.Accounts;

/*
 * First start. With no enabled admin in the database, start-up makes a set-up token (256 bits from the
 * CSPRNG) and prints /setup/<token> on stdout, once the server listens. The token lives only in this
 * process's memory: it is valid until an admin account is made with it (or the process ends: the next
 * start prints a new one while there is still no admin). The check compares SHA-256 digests in constant
 * time, so neither the length nor a prefix of the token leaks through timing; 256 random bits leave
 * nothing to guess. Creating the admin is serialised and re-checks the database, so two visitors (or two
 * replicas' tokens) cannot make two first admins, and every token is dead once one exists.
 */

/// <summary>The one-time set-up token of a server that has no admin yet.</summary>
public sealed class AdminSetup(IServiceScopeFactory scopes, AuditRecorder audit, ILogger<AdminSetup> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private byte[]? _tokenDigest;

    /// <summary>The token, kept only so tests can act as the person reading the console.</summary>
    internal string? Token { get; private set; }

    public bool IsActive => Volatile.Read(ref _tokenDigest) is not null;

    /// <summary>Whether <paramref name="candidate"/> is the live token (constant time).</summary>
    public bool Matches(string? candidate)
    {
        var expected = Volatile.Read(ref _tokenDigest);
        if (expected is null || candidate is null)
        {
            return false;
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(candidate));
        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }

    /// <summary>Makes a token if the database has no enabled admin; returns it (null when an admin exists).</summary>
    internal async Task<string?> StartIfNoAdminAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        if (await scope.ServiceProvider.GetRequiredService<UserAdministration>().HasEnabledAdminAsync(cancellationToken))
        {
            return null;
        }

        var token = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        Token = token;
        Volatile.Write(ref _tokenDigest, SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        return token;
    }

    /// <summary>
    /// Creates the first admin with the live token. A refused password keeps the token (the visitor tries
    /// again); success, or finding an admin already there, ends it.
    /// </summary>
    public async Task<AdminResult> CreateAdminAsync(string token, string email, string password, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!Matches(token))
            {
                return AdminResult.Fail("This set-up link is not valid.");
            }

            await using var scope = scopes.CreateAsyncScope();
            var administration = scope.ServiceProvider.GetRequiredService<UserAdministration>();
            if (await administration.HasEnabledAdminAsync(cancellationToken))
            {
                End();
                return AdminResult.Fail("This set-up link is not valid.");
            }

            var result = await administration.AddUserAsync(email, IrisRoles.Admin, password, cancellationToken);
            if (result.Succeeded)
            {
                End();
                AdminSetupLog.AdminCreated(logger);
                audit.Record(AuditActions.AdminSetUp, AuditActor.Anonymous, result.User!.Email, AuditOutcome.Success, "first admin made through the one-time set-up link");
            }
            else
            {
                audit.Record(AuditActions.AdminSetUp, AuditActor.Anonymous, null, AuditOutcome.Failure, result.Error);
            }

            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose() => _gate.Dispose();

    private void End()
    {
        Volatile.Write(ref _tokenDigest, null);
        Token = null;
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Makes the set-up token after the migrations and prints its URL once the server listens.</summary>
internal sealed class AdminSetupAnnouncer(AdminSetup setup, IServer server, IHostApplicationLifetime lifetime, ILogger<AdminSetup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await setup.StartIfNoAdminAsync(cancellationToken) is not { } token)
        {
            return;
        }

        lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var address = addresses.Select(Browsable).FirstOrDefault() ?? "http://<this server>";
            // Straight to stdout, not through logging: a token is never logged (log sinks keep and ship
            // what they get), while the console of a first start is read by the person installing it.
            Console.Out.WriteLine(
                $"""

                iris: this server has no admin account yet. Open this one-time set-up link to create it
                iris: (it works once; restarting the server makes a new one while there is still no admin):
                iris:     {address}/setup/{token}

                """);
            Console.Out.Flush();
            AdminSetupLog.SetupUrlPrinted(logger);
        });
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // http://0.0.0.0:8080, http://[::]:8080 and http://+:8080 listen everywhere; a browser needs a host.
    private static string Browsable(string address) =>
        address.Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
            .Replace("://[::]", "://localhost", StringComparison.Ordinal)
            .Replace("://+", "://localhost", StringComparison.Ordinal)
            .Replace("://*", "://localhost", StringComparison.Ordinal)
            .TrimEnd('/');
}

internal static partial class AdminSetupLog
{
    [LoggerMessage(EventId = 6101, Level = LogLevel.Warning, Message = "No admin account yet: a one-time set-up link was printed on the console (stdout); open it to create the first admin")]
    public static partial void SetupUrlPrinted(ILogger logger);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Information, Message = "The first admin account was created through the set-up link; the link no longer works")]
    public static partial void AdminCreated(ILogger logger);
}
