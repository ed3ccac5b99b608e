using System.Diagnostics;
using Npgsql;

namespace IrisIde.Tests.Support;

/// <summary>
/// The real servers <c>./iris test</c> starts (RabbitMQ, PostgreSQL), found through the environment
/// variables it exports. A test that needs one and does not find it fails with the reason: it is never
/// skipped, so a CI run without the service cannot pass.
/// </summary>
public static class TestServices
{
    public const string RabbitMqVariable = "IRIS_TEST_RABBITMQ";

    public const string PostgresVariable = "IRIS_TEST_POSTGRES";

    /// <summary>The test dockerd's address (<c>unix:///...</c>).</summary>
    public const string DockerVariable = "IRIS_TEST_DOCKER";

    /// <summary>The runner image built offline on the test dockerd.</summary>
    public const string RunnerImageVariable = "IRIS_TEST_RUNNER_IMAGE";

    public static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{variable} is not set: this test needs the real server that './iris test' installs and starts. Run the tests through './iris test'.");

    /// <summary>Runs a command line tool of a test service and returns its stdout; throws with its output when it fails.</summary>
    public static async Task<string> RunToolAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited {process.ExitCode}: {await stderr}{await stdout}");
        }

        return await stdout;
    }
}

/// <summary>A PostgreSQL database of its own on the test server, dropped at the end.</summary>
public sealed class TestPostgresDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;

    private TestPostgresDatabase(string serverConnectionString, string name)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>For <c>ConnectionStrings:Postgres</c>.</summary>
    public string ConnectionString { get; }

    public static async Task<TestPostgresDatabase> CreateAsync()
    {
        var server = new NpgsqlConnectionStringBuilder(TestServices.Required(TestServices.PostgresVariable)) { Database = "postgres", Pooling = false }.ConnectionString;
        var database = new TestPostgresDatabase(server, $"iris_test_{Guid.NewGuid():N}");
        await database.ExecuteOnServerAsync($"CREATE DATABASE \"{database.Name}\"");
        return database;
    }

    /// <summary>
    /// Drops the database, ending the sessions still in it. An autovacuum worker that happens to be in the new
    /// database is not ours to end (42501, as the test role is no superuser); it is done within moments, so the drop
    /// is tried again.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");
                return;
            }
            catch (PostgresException exception) when (exception.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse && attempt < 40)
            {
                await Task.Delay(250);
            }
        }
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// A RabbitMQ virtual host of its own on the test broker (made and deleted with <c>rabbitmqctl</c>), so
/// queues of one test never hold another test's messages.
/// </summary>
public sealed class TestRabbitMqVirtualHost : IAsyncDisposable
{
    private TestRabbitMqVirtualHost(string name, Uri uri)
    {
        Name = name;
        Uri = uri;
    }

    public string Name { get; }

    /// <summary>For <c>ConnectionStrings:RabbitMq</c>: the broker's address with this virtual host.</summary>
    public Uri Uri { get; }

    public static async Task<TestRabbitMqVirtualHost> CreateAsync()
    {
        var broker = new UriBuilder(TestServices.Required(TestServices.RabbitMqVariable));
        var name = $"iris-test-{Guid.NewGuid():N}";
        await TestServices.RunToolAsync("rabbitmqctl", "-q", "add_vhost", name);
        await TestServices.RunToolAsync("rabbitmqctl", "-q", "set_permissions", "-p", name, Uri.UnescapeDataString(broker.UserName), ".*", ".*", ".*");
        broker.Path = "/" + name;
        return new TestRabbitMqVirtualHost(name, broker.Uri);
    }

    /// <summary>Messages ready in a queue of this virtual host (0 for a queue that does not exist).</summary>
    public async Task<int> CountMessagesAsync(string queue)
    {
        var table = await TestServices.RunToolAsync("rabbitmqctl", "-q", "list_queues", "-p", Name, "--no-table-headers", "name", "messages_ready");
        foreach (var line in table.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var columns = line.Split('\t');
            if (columns.Length == 2 && columns[0] == queue)
            {
                return int.Parse(columns[1], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    public async ValueTask DisposeAsync() => await TestServices.RunToolAsync("rabbitmqctl", "-q", "delete_vhost", Name);
}

/// <summary>
/// Stops and starts the test broker itself, for chaos tests. Every <c>rabbitmqctl</c> and
/// <c>rabbitmq-server</c> call inherits this process's environment — the <c>RABBITMQ_*</c> and
/// <c>ERL_EPMD_ADDRESS</c> variables <c>./iris test</c> exports (or a developer's own, such as
/// <c>RABBITMQ_NODENAME</c> for a private node) — so the node restarted is the one the tests talk to, and it
/// comes back with the same settings it was started with.
/// </summary>
public static class TestRabbitMqBroker
{
    private static readonly TimeSpan StartupTimeout = TimeSpan.FromMinutes(3);

    /// <summary><c>rabbitmqctl stop_app</c>: the node stays up, the broker closes every connection (CONNECTION_FORCED).</summary>
    public static Task StopAppAsync() => TestServices.RunToolAsync("rabbitmqctl", "-q", "stop_app");

    /// <summary><c>rabbitmqctl start_app</c>, then waits until the broker accepts connections again.</summary>
    public static async Task StartAppAsync()
    {
        await TestServices.RunToolAsync("rabbitmqctl", "-q", "start_app");
        await TestServices.RunToolAsync("rabbitmqctl", "-q", "await_startup");
    }

    /// <summary>
    /// SIGKILL of the node's Erlang VM (beam.smp): no connection is closed, clients see their sockets die.
    /// Returns once the process is gone.
    /// </summary>
    public static async Task KillServerAsync()
    {
        var reply = await TestServices.RunToolAsync("rabbitmqctl", "-q", "eval", "os:getpid().");
        var pid = int.Parse(reply.Trim().Trim('"'), System.Globalization.CultureInfo.InvariantCulture);
        await TestServices.RunToolAsync("kill", "-KILL", pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var deadline = DateTime.UtcNow + StartupTimeout;
        while (Directory.Exists($"/proc/{pid}"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the broker process {pid} outlived SIGKILL for {StartupTimeout}");
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// <c>rabbitmq-server -detached</c>, as <c>./iris</c> starts it, then waits for the node: until it has
    /// registered with epmd, <c>await_startup</c> fails at once instead of waiting, so it is asked again.
    /// </summary>
    public static async Task StartServerAsync()
    {
        await TestServices.RunToolAsync("rabbitmq-server", "-detached");
        var deadline = DateTime.UtcNow + StartupTimeout;
        while (true)
        {
            try
            {
                await TestServices.RunToolAsync("rabbitmqctl", "-q", "await_startup", "--timeout", "30");
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromSeconds(1));
            }
        }
    }
}
