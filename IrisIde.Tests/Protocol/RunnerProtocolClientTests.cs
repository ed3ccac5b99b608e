using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Protocol;

/// <summary>
/// <see cref="RunnerProtocolClient"/> against runners that misbehave: a scripted WebSocket server in this
/// process plays the runner, so a dropped connection, a flood or silence happen exactly when a test wants.
/// </summary>
public sealed class RunnerProtocolClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private static readonly LanguageCatalog Catalog = LanguageCatalog.LoadEmbedded();
    private static readonly RunRequest Python = RunRequestFactory.Interactive("python", [new SourceFile(string.Empty, "print('hi')\n")]);

    private static readonly JsonObject Accepted = new()
    {
        ["type"] = "accepted",
        ["id"] = Guid.CreateVersion7().ToString(),
        ["language"] = "python",
        ["files"] = new JsonArray("main.py"),
    };

    [Fact]
    public async Task A_connection_dropped_mid_run_ends_the_session_with_internal_error_and_says_so()
    {
        var drop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var runner = await FakeRunner.StartAsync(async (socket, context) =>
        {
            await SendAsync(socket, Accepted);
            await SendAsync(socket, new JsonObject { ["type"] = "started" });
            await SendAsync(socket, new JsonObject { ["type"] = "stdout", ["data"] = "partial" });
            await drop.Task.WaitAsync(Timeout);
            context.Abort();
        });
        await using var session = await ConnectAsync(runner);
        using var timeout = new CancellationTokenSource(Timeout);
        Assert.IsType<ProgramStarted>(await session.Events.ReadAsync(timeout.Token));
        Assert.IsType<OutputChunk>(await session.Events.ReadAsync(timeout.Token));

        // The pod is deleted, the node dies: the TCP connection is reset with no close frame.
        drop.SetResult();
        var events = await ReadAllAsync(session);

        Assert.IsType<RunExited>(Assert.Single(events));
        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.InternalError, outcome.Verdict);
        Assert.Equal(RunStage.Run, outcome.Stage);
        Assert.Contains("lost the runner", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_runner_that_closes_without_exit_ends_the_session_with_internal_error()
    {
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, Accepted);
            await SendAsync(socket, new JsonObject { ["type"] = "compile_started" });
            await socket.CloseOutputAsync(WebSocketCloseStatus.InternalServerError, "runner broke", CancellationToken.None);
        });
        await using var session = await ConnectAsync(runner);

        await ReadAllAsync(session);

        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.InternalError, outcome.Verdict);
        Assert.Equal(RunStage.Compile, outcome.Stage);
        Assert.Contains("runner broke", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_over_the_size_cap_ends_the_session_instead_of_being_buffered()
    {
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, Accepted);
            await SendAsync(socket, new JsonObject { ["type"] = "stdout", ["data"] = new string('x', 4096) });
            await WaitForCloseAsync(socket);
        });
        await using var session = await ConnectAsync(runner, new RunnerProtocolClientOptions { MaxMessageBytes = 1024 });

        var events = await ReadAllAsync(session);

        var outcome = Assert.IsType<RunExited>(Assert.Single(events)).Outcome;
        Assert.Equal(Verdict.InternalError, outcome.Verdict);
        Assert.Contains("over 1024 bytes", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_flooding_runner_is_held_back_by_the_bounded_buffer_and_nothing_is_lost()
    {
        const int Messages = 20_000;
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, Accepted);
            for (var i = 0; i < Messages; i++)
            {
                await SendAsync(socket, new JsonObject { ["type"] = "stdout", ["data"] = $"{i:D6}{new string('.', 994)}" });
            }

            await SendAsync(socket, new JsonObject { ["type"] = "exit", ["return_code"] = 0, ["verdict"] = "ok", ["stage"] = "run", ["exit_code"] = 0 });
            await WaitForCloseAsync(socket);
        });
        await using var session = await ConnectAsync(runner, new RunnerProtocolClientOptions { MaxBufferedEvents = 8 });

        // Nobody reads: the client fills its buffer and then stops taking messages off the socket.
        await WaitUntilAsync(() => session.Events.Count >= 8);
        Assert.Equal(8, session.Events.Count);
        Assert.False(session.Completion.IsCompleted);

        var events = await ReadAllAsync(session);
        var chunks = events.OfType<OutputChunk>().ToList();
        Assert.Equal(Messages, chunks.Count);
        Assert.All(chunks.Select((c, i) => (c, i)), x => Assert.StartsWith($"{x.i:D6}", x.c.Text, StringComparison.Ordinal));
        Assert.Equal(Verdict.Ok, Assert.IsType<RunExited>(events[^1]).Outcome.Verdict);
    }

    [Fact]
    public async Task Disposing_does_not_wait_past_the_grace_for_a_runner_that_ignores_the_stop()
    {
        var sawExit = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, Accepted);
            while (await ReceiveAsync(socket) is { } message)
            {
                if (message["type"]?.GetValue<string>() == "exit")
                {
                    sawExit.TrySetResult(message);
                }
            }
        });
        var session = await ConnectAsync(runner, new RunnerProtocolClientOptions { StopGrace = TimeSpan.FromSeconds(1) });

        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        var exit = await sawExit.Task.WaitAsync(Timeout);
        Assert.Equal("killed", exit["verdict"]?.GetValue<string>());
        Assert.Equal("the client went away", exit["data"]?.GetValue<string>());
        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.Killed, outcome.Verdict);
        Assert.Equal("the client went away", outcome.Message);
    }

    [Fact]
    public async Task Controls_are_sent_in_order_as_protocol_messages()
    {
        var received = new List<JsonNode>();
        var sawExit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, Accepted);
            while (await ReceiveAsync(socket) is { } message)
            {
                lock (received)
                {
                    received.Add(message);
                }

                if (message["type"]?.GetValue<string>() == "exit")
                {
                    await SendAsync(socket, new JsonObject { ["type"] = "exit", ["return_code"] = 137, ["verdict"] = "time_limit", ["signal"] = 9, ["stage"] = "run", ["message"] = "cap" });
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "program exited", CancellationToken.None);
                    sawExit.TrySetResult();
                }
            }
        });
        await using var session = await ConnectAsync(runner);

        Assert.True(await session.WriteInputAsync("a", CancellationToken.None));
        Assert.True(await session.WriteInputAsync("\r", CancellationToken.None));
        session.Signal(RunnerSignals.Interrupt);
        session.CloseInput();
        Assert.False(await session.WriteInputAsync("after eof", CancellationToken.None));
        session.Stop(Verdict.TimeLimit, "cap");
        await sawExit.Task.WaitAsync(Timeout);
        var outcome = await session.Completion.WaitAsync(Timeout);

        lock (received)
        {
            Assert.Equal(
                ["input:a", "input:\r", "signal:SIGINT", "eof:", "exit:cap"],
                received.Select(m => $"{m["type"]}:{m["data"]}"));
            Assert.Equal("time_limit", received[^1]["verdict"]?.GetValue<string>());
        }

        Assert.Equal((Verdict.TimeLimit, (int?)null, (int?)9, "cap"), (outcome.Verdict, outcome.ExitCode, outcome.Signal, outcome.Message));
    }

    [Fact]
    public async Task A_runner_at_capacity_is_a_refusal_like_a_full_local_host()
    {
        await using var runner = await FakeRunner.StartAsync(async (socket, _) =>
        {
            await SendAsync(socket, new JsonObject { ["type"] = "error", ["error"] = "server full" });
            await socket.CloseOutputAsync((WebSocketCloseStatus)1013, "server full", CancellationToken.None);
            await WaitForCloseAsync(socket);
        });

        var refused = await Assert.ThrowsAsync<SessionRefusedException>(() => ConnectAsync(runner));

        Assert.Equal(AdmissionRefusal.AtCapacity, refused.Refusal);
        Assert.Equal("server full", refused.Message);
    }

    [Fact]
    public async Task An_unreachable_runner_is_reported_when_the_session_starts()
    {
        // A port nothing listens on: the listener is stopped before the client connects.
        Uri address;
        await using (var runner = await FakeRunner.StartAsync((_, _) => Task.CompletedTask))
        {
            address = runner.ProtocolUri;
        }

        var error = await Assert.ThrowsAsync<RunnerUnavailableException>(() =>
            RunnerProtocolClient.ConnectAsync(address, Python, Catalog, new RunnerProtocolClientOptions(), NullLogger.Instance, CancellationToken.None).WaitAsync(Timeout));

        Assert.Contains("could not be reached", error.Message, StringComparison.Ordinal);
    }

    private static async Task<RunnerProtocolClient> ConnectAsync(FakeRunner runner, RunnerProtocolClientOptions? options = null) =>
        await RunnerProtocolClient.ConnectAsync(runner.ProtocolUri, Python, Catalog, options ?? new RunnerProtocolClientOptions(), NullLogger.Instance, CancellationToken.None).WaitAsync(Timeout);

    private static async Task<List<RunEvent>> ReadAllAsync(RunnerProtocolClient session)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var events = new List<RunEvent>();
        await foreach (var runEvent in session.Events.ReadAllAsync(timeout.Token))
        {
            events.Add(runEvent);
        }

        return events;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private static async Task SendAsync(WebSocket socket, JsonNode message)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The client's next message, or null once it closed.</summary>
    private static async Task<JsonNode?> ReceiveAsync(WebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var buffer = new byte[64 * 1024];
        var length = 0;
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), timeout.Token);
            }
            catch (WebSocketException)
            {
                return null;
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return JsonNode.Parse(buffer.AsSpan(0, length));
            }
        }
    }

    private static async Task WaitForCloseAsync(WebSocket socket)
    {
        while (await ReceiveAsync(socket) is not null)
        {
        }
    }

    /// <summary>A WebSocket server at <c>/ws</c> that reads the <c>code</c> message and then plays a script.</summary>
    private sealed class FakeRunner : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private FakeRunner(WebApplication app, Uri protocolUri)
        {
            _app = app;
            ProtocolUri = protocolUri;
        }

        public Uri ProtocolUri { get; }

        public static async Task<FakeRunner> StartAsync(Func<WebSocket, HttpContext, Task> script)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            app.UseWebSockets();
            app.Map("/ws", async context =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var code = await ReceiveAsync(socket);
                Assert.Equal(RunnerProtocolExtensions.Level, code?["extensions"]?.GetValue<int>());
                await script(socket, context);
            });
            await app.StartAsync().WaitAsync(Timeout);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new FakeRunner(app, new Uri($"ws://{new Uri(address).Authority}/ws"));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().WaitAsync(Timeout);
            await _app.DisposeAsync();
        }
    }
}
