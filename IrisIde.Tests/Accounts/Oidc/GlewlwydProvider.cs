using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>
/// A real OpenID Connect provider: Debian's glewlwyd (TEST_PACKAGES in ./iris) as a plain process on a free
/// loopback port, with a fresh SQLite database from the schema the package ships, in a temporary folder of its
/// own, configured entirely through its admin REST API. It cannot be skipped: when it does not start, the
/// test that needs it fails with glewlwyd's log.
/// <para>
/// Quirks (checked on Debian 12's 2.7): any <c>use_secure_connection</c> line makes it demand certificates, so
/// there is none; <c>auth_time</c> is always 0 (the app sets no MaxAge); <c>sub</c> is random per database, so
/// tests never pin one; the shipped web app's <c>config.json</c> is a link to a folder in Debian 12's package, so
/// the login page is served from a copy with its own.
/// </para>
/// </summary>
public sealed class GlewlwydProvider : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/glewlwyd";

    public const string SchemaPath = "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz";

    public const string WebAppPath = "/usr/share/glewlwyd/webapp";

    /// <summary>The admin account <see cref="SchemaPath"/> creates; this provider lives only for the tests.</summary>
    private const string AdminUser = "admin";

    private const string AdminPassword = "password";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _folder;
    private readonly Process _process;
    private readonly HttpClientHandler _adminHandler;
    private readonly HttpClient _admin;

    private GlewlwydProvider(string folder, Process process, Uri baseAddress)
    {
        _folder = folder;
        _process = process;
        BaseAddress = baseAddress;
        _adminHandler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true };
        _admin = new HttpClient(_adminHandler) { BaseAddress = new Uri(baseAddress, "api/"), Timeout = Timeout };
    }

    /// <summary><c>http://127.0.0.1:{port}/</c>: the login page and <c>api/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The issuer and authority (the discovery document is below it).</summary>
    public string Issuer => new Uri(BaseAddress, "api/oidc").ToString();

    public Uri ApiAddress => new(BaseAddress, "api/");

    /// <summary>Starts glewlwyd and configures the user module (a multi-valued <c>role</c>), the OIDC plugin and the scopes.</summary>
    public static async Task<GlewlwydProvider> StartAsync()
    {
        if (!File.Exists(ExecutablePath) || !File.Exists(SchemaPath))
        {
            throw new InvalidOperationException($"glewlwyd is not installed ({ExecutablePath}, {SchemaPath}): ./iris test installs it (TEST_PACKAGES)");
        }

        var folder = Path.Combine(Path.GetTempPath(), "iris-tests", "glewlwyd-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        await CreateDatabaseAsync(Path.Combine(folder, "glewlwyd.db"));
        var webApp = CopyWebApp(folder);
        var port = FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        var config = Path.Combine(folder, "glewlwyd.conf");
        await File.WriteAllTextAsync(config, Config(folder, webApp, port));

        var start = new ProcessStartInfo(ExecutablePath)
        {
            ArgumentList = { $"--config-file={config}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("glewlwyd did not start");
        // Drained so a chatty provider never blocks on a full pipe; its log file is what a failure shows.
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var provider = new GlewlwydProvider(folder, process, baseAddress);
        try
        {
            await provider.WaitUntilListeningAsync();
            await provider.ConfigureAsync();
            return provider;
        }
        catch
        {
            await provider.DisposeAsync(keepFolder: true);
            throw;
        }
    }

    /// <summary>Adds a user who may sign in with <paramref name="password"/> and carries <paramref name="roles"/> in the <c>role</c> claim.</summary>
    public Task AddUserAsync(string username, string password, string email, IEnumerable<string> roles, bool enabled = true) =>
        SendAsync(HttpMethod.Post, "user/", UserJson(username, email, roles, enabled, password));

    /// <summary>Replaces the user's roles: what the provider will claim at the next sign-in.</summary>
    public Task SetRolesAsync(string username, string email, IEnumerable<string> roles, bool enabled = true) =>
        SendAsync(HttpMethod.Put, $"user/{Uri.EscapeDataString(username)}", UserJson(username, email, roles, enabled, password: null));

    /// <summary>A confidential client for the code flow, allowed to return to <paramref name="redirectUri"/> only.</summary>
    public Task AddClientAsync(string clientId, string secret, Uri redirectUri) =>
        SendAsync(HttpMethod.Post, "client/", new JsonObject
        {
            ["client_id"] = clientId,
            ["name"] = clientId,
            ["enabled"] = true,
            ["confidential"] = true,
            ["password"] = secret,
            ["redirect_uri"] = new JsonArray(redirectUri.ToString()),
            ["authorization_type"] = new JsonArray("code", "refresh_token"),
            ["token_endpoint_auth_method"] = new JsonArray("client_secret_basic", "client_secret_post"),
            ["scope"] = new JsonArray(),
        });

    /// <summary>The end of glewlwyd's log, for a failure message.</summary>
    public string LogTail()
    {
        var log = Path.Combine(_folder, "glewlwyd.log");
        if (!File.Exists(log))
        {
            return "(no glewlwyd.log)";
        }

        var lines = File.ReadAllLines(log);
        return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
    }

    public ValueTask DisposeAsync() => DisposeAsync(keepFolder: false);

    private async ValueTask DisposeAsync(bool keepFolder)
    {
        _admin.Dispose();
        _adminHandler.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Timeout);
        }

        _process.Dispose();
        if (!keepFolder)
        {
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary folder is harmless.
            }
        }
    }

    private static async Task CreateDatabaseAsync(string path)
    {
        string schema;
        await using (var file = File.OpenRead(SchemaPath))
        await using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var reader = new StreamReader(gzip))
        {
            schema = await reader.ReadToEndAsync();
        }

        var connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = schema;
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// The login page's files with a config.json of our own (see the class comment). Copied, links followed:
    /// glewlwyd answers 404 for a file that is a symbolic link into another folder.
    /// </summary>
    private static string CopyWebApp(string folder)
    {
        var target = Path.Combine(folder, "webapp");
        foreach (var file in Directory.EnumerateFiles(WebAppPath, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(WebAppPath, file);
            if (relative.StartsWith("config.json", StringComparison.Ordinal))
            {
                continue;
            }

            var copy = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }

        var shipped = Path.Combine(WebAppPath, "config.json");
        var source = Directory.Exists(shipped) ? Path.Combine(shipped, "config.json") : shipped;
        var config = File.Exists(source) ? JsonNode.Parse(File.ReadAllText(source))!.AsObject() : [];
        config["GlewlwydUrl"] = "./";
        config["LoginUrl"] = "login.html";
        File.WriteAllText(Path.Combine(target, "config.json"), config.ToJsonString());
        return target;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Config(string folder, string webApp, int port) => $$"""
        port={{port.ToString(CultureInfo.InvariantCulture)}}
        bind_address="127.0.0.1"
        external_url="http://127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}}"
        login_url="login.html"
        api_prefix="api"
        static_files_path="{{webApp}}/"
        allow_origin="*"
        log_mode="file"
        log_level="INFO"
        log_file="{{folder}}/glewlwyd.log"
        cookie_secure=0
        cookie_same_site="empty"
        session_expiration=2419200
        session_key="GLEWLWYD2_SESSION_ID"
        admin_session_authentication="cookie,api_key"
        profile_session_authentication="cookie"
        allow_multiple_user_per_session=true
        login_api_enabled=true
        plugin_api_run_enabled=""
        add_x_frame_option_header_deny=true
        max_post_size=16778240
        admin_scope="g_admin"
        profile_scope="g_profile"
        user_module_path="/usr/lib/glewlwyd/user"
        client_module_path="/usr/lib/glewlwyd/client"
        user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"
        plugin_module_path="/usr/lib/glewlwyd/plugin"
        hash_algorithm = "SHA512"
        database =
        {
          type = "sqlite3"
          path = "{{folder}}/glewlwyd.db"
        };
        static_files_mime_types =
        (
          { extension = ".html" mime_type = "text/html" },
          { extension = ".css" mime_type = "text/css" },
          { extension = ".js" mime_type = "application/javascript" },
          { extension = ".json" mime_type = "application/json" },
          { extension = ".png" mime_type = "image/png" },
          { extension = ".ico" mime_type = "image/x-icon" },
          { extension = ".woff" mime_type = "font/woff" },
          { extension = ".woff2" mime_type = "font/woff2" },
          { extension = ".ttf" mime_type = "font/ttf" },
          { extension = ".svg" mime_type = "image/svg+xml" }
        )
        """;

    private async Task WaitUntilListeningAsync()
    {
        // A readiness poll, not a timing assertion: a slow machine only waits longer, up to the bound.
        var deadline = Stopwatch.StartNew();
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"glewlwyd exited with {_process.ExitCode} at start-up:\n{LogTail()}");
            }

            try
            {
                using var response = await probe.GetAsync(new Uri(BaseAddress, "config"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            if (deadline.Elapsed > Timeout)
            {
                throw new InvalidOperationException($"glewlwyd did not answer on {BaseAddress} within {Timeout}:\n{LogTail()}");
            }

            await Task.Delay(100);
        }
    }

    private async Task ConfigureAsync()
    {
        // An admin session (the schema's admin account).
        await SendAsync(HttpMethod.Post, "auth/", new JsonObject { ["username"] = AdminUser, ["password"] = AdminPassword });

        // The user module gets a multi-valued 'role' property, and is re-instantiated to use it.
        using (var module = await _admin.GetAsync("mod/user/database").WaitAsync(Timeout))
        {
            await EnsureOkAsync(module, "GET mod/user/database");
            var current = (await module.Content.ReadFromJsonAsync<JsonObject>().WaitAsync(Timeout))!;
            var parameters = current["parameters"]!.AsObject();
            var dataFormat = parameters["data-format"] as JsonObject ?? [];
            dataFormat["role"] = new JsonObject { ["multiple"] = true, ["read"] = true, ["write"] = true, ["profile-read"] = true, ["profile-write"] = false };
            parameters["data-format"] = dataFormat.DeepClone();
            await SendAsync(HttpMethod.Put, "mod/user/database", new JsonObject
            {
                ["display_name"] = current["display_name"]?.DeepClone(),
                ["order_rank"] = current["order_rank"]?.DeepClone(),
                ["readonly"] = current["readonly"]?.DeepClone(),
                ["parameters"] = parameters.DeepClone(),
            });
        }

        await SendAsync(HttpMethod.Put, "mod/user/database/reset", null);

        // The OpenID Connect plugin, signing with a fresh RS256 key.
        using var rsa = RSA.Create(2048);
        await SendAsync(HttpMethod.Post, "mod/plugin/", new JsonObject
        {
            ["module"] = "oidc",
            ["name"] = "oidc",
            ["display_name"] = "OpenID Connect",
            ["order_rank"] = 0,
            ["readonly"] = false,
            ["parameters"] = new JsonObject
            {
                ["iss"] = Issuer,
                ["jwt-type"] = "rsa",
                ["jwt-key-size"] = "256",
                ["key"] = rsa.ExportPkcs8PrivateKeyPem(),
                ["cert"] = rsa.ExportSubjectPublicKeyInfoPem(),
                ["access-token-duration"] = 3600,
                ["refresh-token-duration"] = 1209600,
                ["code-duration"] = 600,
                ["refresh-token-rolling"] = true,
                ["allow-non-oidc"] = false,
                ["auth-type-code-enabled"] = true,
                ["auth-type-token-enabled"] = false,
                ["auth-type-id-token-enabled"] = true,
                ["auth-type-none-enabled"] = false,
                ["auth-type-password-enabled"] = false,
                ["auth-type-client-enabled"] = false,
                ["auth-type-device-enabled"] = false,
                ["auth-type-refresh-enabled"] = true,
                ["subject-type"] = "public",
                ["name-claim"] = "mandatory",
                ["email-claim"] = "mandatory",
                ["scope-claim"] = "no",
                ["claims"] = new JsonArray(new JsonObject { ["name"] = "role", ["user-property"] = "role", ["type"] = "string", ["mandatory"] = true, ["on-demand"] = false }),
                ["scope"] = new JsonArray(),
                ["additional-parameters"] = new JsonArray(),
                ["pkce-allowed"] = true,
                ["pkce-method-plain-allowed"] = false,
                ["session-management-allowed"] = false,
                ["client-pubkey-parameter"] = "",
                ["request-parameter-allow"] = false,
                ["jwks-show"] = true,
            },
        });

        // 'openid' needs the password; 'profile' and 'email' exist so the app's default scopes are accepted.
        await SendAsync(HttpMethod.Put, "scope/openid", Scope("openid", "Open ID"));
        await SendAsync(HttpMethod.Post, "scope/", Scope("profile", "profile"));
        await SendAsync(HttpMethod.Post, "scope/", Scope("email", "email"));
    }

    private static JsonObject Scope(string name, string displayName) => new()
    {
        ["name"] = name,
        ["display_name"] = displayName,
        ["description"] = displayName,
        ["password_required"] = true,
        ["password_max_age"] = 0,
        ["scheme"] = new JsonObject(),
    };

    private static JsonObject UserJson(string username, string email, IEnumerable<string> roles, bool enabled, string? password)
    {
        var user = new JsonObject
        {
            ["username"] = username,
            ["name"] = username,
            ["email"] = email,
            ["enabled"] = enabled,
            ["scope"] = new JsonArray("openid", "profile", "email"),
            ["role"] = new JsonArray(roles.Select(r => (JsonNode?)JsonValue.Create(r)).ToArray()),
        };
        if (password is not null)
        {
            user["password"] = password;
        }

        return user;
    }

    private async Task SendAsync(HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        using var response = await _admin.SendAsync(request).WaitAsync(Timeout);
        await EnsureOkAsync(response, $"{method} {path}");
    }

    private async Task EnsureOkAsync(HttpResponseMessage response, string what)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
            throw new InvalidOperationException($"glewlwyd admin API {what}: {(int)response.StatusCode} {body}\n{LogTail()}");
        }
    }
}
