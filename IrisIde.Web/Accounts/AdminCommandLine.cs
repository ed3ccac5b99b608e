using System.Data.Common;
using System.Globalization;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Identity;

namespace IrisIde.Web.Accounts;

/*
 * `IrisIde.Web admin ...` (`./iris admin ...`): operator commands that act on the configured database and
 * exit, without starting the server. The host is built from the same configuration as the server
 * (appsettings.json, Iris__*, ConnectionStrings__* from the environment), registers only persistence and
 * accounts, and applies pending migrations first, exactly as a server start would, so a command works on a
 * fresh data folder. Exit codes: 0 done, 1 the action failed (unknown role, duplicate email, password
 * refused...), 2 the command line is wrong. Messages go to stderr, results to stdout.
 *
 * Extension point: each command group is one entry of Groups.
 */

/// <summary>The <c>admin</c> verb of the web app's entry point.</summary>
public static class AdminCommandLine
{
    public const int Success = 0;

    public const int Failed = 1;

    public const int Usage = 2;

    private delegate Task<int> Group(IServiceProvider services, string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken);

    private static readonly Dictionary<string, Group> Groups = new(StringComparer.Ordinal)
    {
        ["user"] = UserCommandsAsync,
        ["token"] = TokenCommandsAsync,
    };

    private const string UsageText = """
        usage: iris admin user add EMAIL --role student|instructor|admin [--password-stdin]
               iris admin user list
               iris admin token create EMAIL [--scope runs|runs:read]... [--expires-days N] [--name NAME]
               iris admin token revoke TOKEN_OR_ID
               iris admin token list [EMAIL]

          user add     create an account with that role. Without --password-stdin a one-time password is
                       generated and printed (the user must change it at the first sign-in); with it the
                       password is read from stdin (one line).
          user list    list the accounts: email, role, status.
          token create make a personal access token for that user and print it, alone, on the last line
                       (shown once). Without --scope it gets every scope the user's role allows; without
                       --expires-days it lives for Iris:Auth:AccessTokens:DefaultExpiryDays.
          token revoke revoke a token, given whole or by its id; it stops working at once.
          token list   list the tokens (of one user with EMAIL), newest first: id, user, scopes, dates,
                       last use and status. Never the tokens themselves: they are not stored.

        Acts on the database the server would use (Iris__DataDirectory, ConnectionStrings__Sqlite,
        ConnectionStrings__Postgres ...), applying pending migrations first.
        """;

    /// <summary>True when the process was started as <c>IrisIde.Web admin ...</c>.</summary>
    public static bool IsAdminCommand(string[] args) => args is ["admin", ..];

    /// <summary>Runs <c>admin</c> <paramref name="args"/> (the words after <c>admin</c>) and returns the exit code.</summary>
    /// <param name="settings">Configuration on top of the environment's (tests point it at their database).</param>
    public static async Task<int> RunAsync(
        string[] args, TextReader input, TextWriter output, TextWriter error,
        IEnumerable<KeyValuePair<string, string?>>? settings = null, CancellationToken cancellationToken = default)
    {
        if (args is [] || !Groups.TryGetValue(args[0], out var group))
        {
            if (args is ["help" or "--help" or "-h", ..])
            {
                await output.WriteLineAsync(UsageText);
                return Success;
            }

            await error.WriteLineAsync(args is []
                ? "iris admin: error: a command is missing."
                : $"iris admin: error: unknown command '{args[0]}' (commands: {string.Join(", ", Groups.Keys)}).");
            await error.WriteLineAsync(UsageText);
            return Usage;
        }

        try
        {
            await using var host = await BuildAsync(settings, cancellationToken);
            int code;
            await using (var scope = host.Services.CreateAsyncScope())
            {
                code = await group(scope.ServiceProvider, args[1..], input, output, error, cancellationToken);
            }

            // The server is not running here, so neither is the audit log's writer: what the command did goes in now.
            await host.Services.GetRequiredService<AuditWriter>().DrainAsync(cancellationToken);
            return code;
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException or IOException)
        {
            await error.WriteLineAsync($"iris admin: error: {e.Message}");
            return Failed;
        }
    }

    private static async Task<WebApplication> BuildAsync(IEnumerable<KeyValuePair<string, string?>>? settings, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [] });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        // Results on stdout stay clean: only warnings and errors are logged, to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        // A provider rule wins over appsettings' Logging:LogLevel (which names no provider).
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(null, LogLevel.Warning);
        builder.Services.AddIrisPersistence(builder.Configuration, builder.Environment, migrateAtStart: false);
        builder.Services.AddAccountsCore(builder.Configuration);
        builder.Services.AddAccessTokensCore(builder.Configuration);
        builder.Services.AddAudit(builder.Configuration);
        var app = builder.Build();
        await using var scope = app.Services.CreateAsyncScope();
        await DatabaseMigrator.MigrateAsync(scope.ServiceProvider.GetRequiredService<IrisDbContext>(), cancellationToken);
        return app;
    }

    private static async Task<int> UserCommandsAsync(IServiceProvider services, string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var administration = services.GetRequiredService<UserAdministration>();
        switch (args)
        {
            case ["list"]:
                var users = await administration.ListAsync(cancellationToken);
                await output.WriteLineAsync($"{"EMAIL",-40} {"ROLE",-11} STATUS");
                foreach (var user in users)
                {
                    var status = user.IsDisabled ? "disabled" : user.IsLockedOut ? "locked out" : user.MustChangePassword ? "must change password" : "active";
                    await output.WriteLineAsync($"{user.Email,-40} {user.Role.ToLowerInvariant(),-11} {status}");
                }

                return Success;

            case ["add", .. var rest]:
                return await AddUserAsync(administration, services.GetRequiredService<AuditRecorder>(), rest, input, output, error, cancellationToken);

            default:
                await error.WriteLineAsync(args is []
                    ? "iris admin: error: 'user' needs a command: add or list."
                    : $"iris admin: error: unknown or malformed 'user' command: {string.Join(' ', args)}");
                await error.WriteLineAsync(UsageText);
                return Usage;
        }
    }

    private static async Task<int> AddUserAsync(UserAdministration administration, AuditRecorder audit, string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? email = null, role = null;
        var passwordFromStdin = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--role" when i + 1 < args.Length:
                    role = args[++i];
                    break;
                case "--role":
                    return await UsageErrorAsync(error, "--role needs a value: student, instructor or admin.");
                case "--password-stdin":
                    passwordFromStdin = true;
                    break;
                case var option when option.StartsWith('-'):
                    return await UsageErrorAsync(error, $"unknown option '{option}'.");
                case var word when email is null:
                    email = word;
                    break;
                default:
                    return await UsageErrorAsync(error, $"unexpected argument '{args[i]}'.");
            }
        }

        if (email is null)
        {
            return await UsageErrorAsync(error, "the email is missing.");
        }

        if (role is null)
        {
            return await UsageErrorAsync(error, "--role is missing: student, instructor or admin.");
        }

        string? password = null;
        if (passwordFromStdin)
        {
            password = (await input.ReadLineAsync(cancellationToken))?.TrimEnd('\r');
            if (string.IsNullOrEmpty(password))
            {
                await error.WriteLineAsync("iris admin: error: --password-stdin: no password on stdin.");
                return Failed;
            }
        }

        var result = await administration.AddUserAsync(email, role, password, cancellationToken);
        if (!result.Succeeded)
        {
            await error.WriteLineAsync($"iris admin: error: {result.Error}");
            return Failed;
        }

        audit.Record(AuditActions.UserCreated, AuditActor.CommandLine, result.User!.Email, AuditOutcome.Success,
            $"role {IrisRoles.Parse(role)}; {(password is null ? "one-time password" : "password from stdin")}");
        await output.WriteLineAsync($"added {result.User!.Email} ({IrisRoles.Parse(role)!.ToLowerInvariant()})");
        if (result.OneTimePassword is { } oneTimePassword)
        {
            await output.WriteLineAsync("one-time password (shown once; it must be changed at the first sign-in):");
            await output.WriteLineAsync(oneTimePassword);
        }

        return Success;
    }

    /// <summary>Who the audit log names for what these commands do.</summary>
    private const string CommandActor = AccessTokenService.CommandLineActor;

    private static async Task<int> TokenCommandsAsync(IServiceProvider services, string[] args, TextReader input, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var tokens = services.GetRequiredService<AccessTokenService>();
        switch (args)
        {
            case ["create", .. var rest]:
                return await CreateTokenAsync(tokens, services.GetRequiredService<UserManager<IrisUser>>(), rest, output, error, cancellationToken);

            case ["revoke", var tokenOrId]:
                if (AccessTokenService.IdOf(tokenOrId) is not { } id)
                {
                    return await UsageErrorAsync(error, "give the token itself (iris_pat_...) or its id.");
                }

                if (await tokens.RevokeAsync(id, ownerId: null, CommandActor, cancellationToken) is not { } revoked)
                {
                    await error.WriteLineAsync($"iris admin: error: no token with the id {id:N}.");
                    return Failed;
                }

                await output.WriteLineAsync($"revoked token {revoked.Id:N} ('{revoked.Name}')");
                return Success;

            case ["list"]:
                return await ListTokensAsync(tokens, null, output, cancellationToken);

            case ["list", var email] when !email.StartsWith('-'):
                if (await services.GetRequiredService<UserManager<IrisUser>>().FindByEmailAsync(email.Trim()) is not { } owner)
                {
                    await error.WriteLineAsync($"iris admin: error: no user with the email '{email}'.");
                    return Failed;
                }

                return await ListTokensAsync(tokens, owner.Id, output, cancellationToken);

            default:
                await error.WriteLineAsync(args is []
                    ? "iris admin: error: 'token' needs a command: create, revoke or list."
                    : $"iris admin: error: unknown or malformed 'token' command: {string.Join(' ', args)}");
                await error.WriteLineAsync(UsageText);
                return Usage;
        }
    }

    private static async Task<int> CreateTokenAsync(AccessTokenService tokens, UserManager<IrisUser> users, string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        string? email = null, name = null;
        int? days = null;
        var scopes = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--scope" when i + 1 < args.Length:
                    var scope = args[++i];
                    if (AccessTokenScopes.Parse(scope) is null)
                    {
                        return await UsageErrorAsync(error, $"unknown scope '{scope}': use {string.Join(" or ", AccessTokenScopes.All)}.");
                    }

                    scopes.Add(scope);
                    break;
                case "--expires-days" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1)
                    {
                        return await UsageErrorAsync(error, $"--expires-days needs a whole number of days, at least 1 (not '{args[i]}').");
                    }

                    days = parsed;
                    break;
                case "--name" when i + 1 < args.Length:
                    name = args[++i];
                    break;
                case "--scope" or "--expires-days" or "--name":
                    return await UsageErrorAsync(error, $"{args[i]} needs a value.");
                case var option when option.StartsWith('-'):
                    return await UsageErrorAsync(error, $"unknown option '{option}'.");
                case var word when email is null:
                    email = word;
                    break;
                default:
                    return await UsageErrorAsync(error, $"unexpected argument '{args[i]}'.");
            }
        }

        if (email is null)
        {
            return await UsageErrorAsync(error, "the email is missing.");
        }

        if (await users.FindByEmailAsync(email.Trim()) is not { } user)
        {
            await error.WriteLineAsync($"iris admin: error: no user with the email '{email}'.");
            return Failed;
        }

        var result = await tokens.CreateAsync(user, name ?? "made with iris admin token create", scopes, days, CommandActor, cancellationToken);
        if (result.Created is not { } created)
        {
            await error.WriteLineAsync($"iris admin: error: {result.Error}");
            return Failed;
        }

        var stored = created.Stored;
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"created token {stored.Id:N} for {user.Email} (scopes: {stored.Scopes}; expires {stored.ExpiresAtUtc:yyyy-MM-dd HH:mm} UTC)"));
        await output.WriteLineAsync("the token (shown once; it works as 'Authorization: Bearer <token>' or ?access_token=<token> on /ws):");
        await output.WriteLineAsync(created.Token);
        return Success;
    }

    private static async Task<int> ListTokensAsync(AccessTokenService tokens, string? userId, TextWriter output, CancellationToken cancellationToken)
    {
        var rows = await tokens.ListWithOwnersAsync(userId, cancellationToken);
        var now = DateTime.UtcNow;
        // The name last: it may hold spaces, everything before it is one word or a fixed-width date.
        await output.WriteLineAsync($"{"ID",-32} {"USER",-32} {"SCOPES",-14} {"CREATED",-16} {"EXPIRES",-16} {"LAST USED",-16} {"STATUS",-7} NAME");
        foreach (var (token, owner) in rows)
        {
            var status = token.RevokedAtUtc is not null ? "revoked" : token.ExpiresAtUtc <= now ? "expired" : "active";
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{token.Id:N} {owner,-32} {token.Scopes.Replace(' ', ','),-14} {Date(token.CreatedAtUtc),-16} {Date(token.ExpiresAtUtc),-16} {(token.LastUsedAtUtc is { } used ? Date(used) : "never"),-16} {status,-7} {token.Name}"));
        }

        return Success;

        static string Date(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }

    private static async Task<int> UsageErrorAsync(TextWriter error, string message)
    {
        await error.WriteLineAsync($"iris admin: error: {message}");
        await error.WriteLineAsync(UsageText);
        return Usage;
    }
}
