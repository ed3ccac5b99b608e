using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using IrisIde.Web.Security;
using IrisIde.Web.Workers;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Batch;

// Seed API (job-queue seed format, byte for byte).
public sealed record SeedRunCodeRequest(string? Language, string? Code);

public sealed record SeedTaskCreated([property: JsonPropertyName("task_id")] string TaskId);

/// <summary><c>result</c> is null (PENDING), <c>{"output"}</c> (SUCCESS) or the error message (FAILURE).</summary>
public sealed record SeedTaskResult(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("result")] JsonElement? Result);

// Richer API (/api/v1/runs). Files and limits are the pipeline's own records (SourceFile, RunLimitOverrides):
// the JSON shape is theirs, and RunRequestFactory turns them into a request as every other surface does.
public sealed record TestCaseDto(string? Name, string? Stdin, string? ExpectedOutput);

public sealed record CreateRunRequest(
    string? Language,
    IReadOnlyList<SourceFile?>? Files,
    string? Stdin,
    RunLimitOverrides? Limits,
    IReadOnlyList<TestCaseDto>? TestCases = null,
    string? Comparison = null,
    string? CallbackUrl = null,
    string? Course = null);

public sealed record RunCreated(Guid Id, string Status);

public sealed record RunResultDto(
    string? Verdict,
    int? ExitCode,
    int? Signal,
    string? CompileOutput,
    string Stdout,
    string Stderr,
    long WallMs,
    long CpuMs,
    long PeakMemoryBytes,
    string? Comparison,
    IReadOnlyList<TestCaseResult>? TestCases);

public sealed record RunDto(
    Guid Id,
    string Status,
    string Language,
    int? QueuePosition,
    DateTime QueuedAt,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    BatchLimits? Limits,
    RunResultDto? Result,
    string? FailureReason,
    string? WorkerId,
    DateTime? ExpiredAt = null,
    string? Surface = null,
    string? Backend = null,
    string? Owner = null,
    string? Course = null);

public static class BatchApi
{
    /// <summary>
    /// Batch runs: the database, the bus and the two HTTP surfaces. Without <c>ConnectionStrings:RabbitMq</c>
    /// the bus is in-memory and this process also runs the jobs; with it, this process only queues jobs and
    /// stores results, and <c>IrisIde.Worker worker</c> processes run them.
    /// </summary>
    public static IServiceCollection AddBatchRuns(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddBatchOptions(configuration);
        services.AddIrisPersistence(configuration, environment);
        services.AddScoped<RunSubmitter>();
        services.AddSingleton<RunEndWaiters>();
        services.AddRunCallbacks(configuration);
        services.AddRunRetention();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, BatchJsonContext.Default));
        var rabbitMq = BatchTransport.ReadRabbitMqAddress(configuration);
        services.AddBatchBusLifetime();
        services.AddBatchBusHealth();
        services.AddMassTransit(bus =>
        {
            if (rabbitMq is null)
            {
                bus.AddRunConsumers();
            }

            bus.AddWorkerHeartbeatConsumer();
            bus.AddConsumer<RunStartedConsumer>();
            bus.AddConsumer<RunCompletedConsumer>();
            bus.AddConsumer<RunRequestedFaultConsumer>();
            bus.UsingIrisTransport(rabbitMq, "iris-web");
        });

        // After the bus, so the embedded runner's heartbeats start once it is up.
        services.AddWorkerRegistry(configuration, runsJobs: rabbitMq is null);
        return services;
    }

    /// <summary>
    /// Refusals the framework makes before a handler runs — a body over the limit (413), a body that is
    /// not JSON (400) — get RFC 7807 problem details too, like every other refusal of the batch POSTs.
    /// </summary>
    public static IApplicationBuilder UseBatchApiProblemDetails(this IApplicationBuilder app) =>
        app.UseWhen(
            context => HttpMethods.IsPost(context.Request.Method)
                && (context.Request.Path == "/run-code" || context.Request.Path.StartsWithSegments("/api/v1/runs")),
            branch => branch.UseStatusCodePages());

    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder endpoints)
    {
        // Routing applies the limit before the body is read, so an oversized job is refused (413) unread.
        var bodyLimit = new RequestBodyLimit(endpoints.ServiceProvider.GetRequiredService<IOptions<BatchApiOptions>>().Value.MaxRequestBodyBytes);

        var seed = endpoints.MapGroup(string.Empty).WithTags("Batch (seed)");
        seed.MapPost("/run-code", RunCodeAsync).WithName("SeedRunCode").WithMetadata(bodyLimit).RequireRunAccess(AccessTokenScopes.Runs);
        seed.MapGet("/results/{task_id}", GetSeedResultAsync).WithName("SeedResult").RequireRunAccess(AccessTokenScopes.RunsRead);

        var runs = endpoints.MapGroup("/api/v1/runs").WithTags("Batch");
        runs.MapPost("/", CreateRunAsync).WithName("CreateRun").WithMetadata(bodyLimit).RequireRunAccess(AccessTokenScopes.Runs);
        runs.MapGet("/{id}", GetRunAsync).WithName("GetRun").RequireRunAccess(AccessTokenScopes.RunsRead);
        return endpoints;
    }

    internal static async Task<Results<Ok<SeedTaskCreated>, ProblemHttpResult>> RunCodeAsync(
        SeedRunCodeRequest body, RunSubmitter submitter, HttpContext context, CancellationToken cancellationToken)
    {
        if (body.Language is not { Length: > 0 } language || body.Code is null)
        {
            return Invalid("'language' and 'code' are required");
        }

        try
        {
            // The seed format has no course field: a course token's runs still belong to its course.
            var owner = ClientKeys.Owner(context, SessionSurface.Batch) with { Course = CourseRunPolicy.TokenCourse(context.User) };
            var record = await submitter.SubmitAsync(RunRequestFactory.Batch(language, [new SourceFile(string.Empty, body.Code)], stdin: null, limits: null), owner, cancellationToken);
            return TypedResults.Ok(new SeedTaskCreated(record.Id.ToString()));
        }
        catch (RunValidationException e)
        {
            return Refused(e);
        }
        catch (SessionRefusedException e)
        {
            return Refused(e, context);
        }
    }

    internal static async Task<Results<Ok<SeedTaskResult>, NotFound>> GetSeedResultAsync(
        [Microsoft.AspNetCore.Mvc.FromRoute(Name = "task_id")] string taskId, RunVisibility visibility, HttpContext context, CancellationToken cancellationToken)
    {
        // Someone else's run is as unknown as a run that does not exist: its id reveals nothing.
        if (!Guid.TryParse(taskId, out var id) || await visibility.FindAsync(context.User, id, cancellationToken) is not { } record)
        {
            return TypedResults.NotFound();
        }

        return TypedResults.Ok(SeedResults.From(record));
    }

    internal static async Task<Results<Accepted<RunCreated>, ProblemHttpResult>> CreateRunAsync(
        CreateRunRequest body, RunSubmitter submitter, IOptions<BatchJobOptions> options, IOptions<BatchApiOptions> apiOptions, HttpContext context, CancellationToken cancellationToken)
    {
        if (body.Language is not { Length: > 0 } language)
        {
            return Invalid("'language' is required");
        }

        if (body.Files is not { Count: > 0 } files)
        {
            return Invalid("'files' must hold at least one file");
        }

        if (body.Comparison is not (null or OutputComparison.Exact or OutputComparison.Whitespace))
        {
            return Invalid("'comparison' must be 'exact' or 'whitespace'");
        }

        var testCases = body.TestCases ?? [];
        if (testCases.Count > 0 && body.Stdin is not null)
        {
            return Invalid("a run with test cases takes its stdin from each case; leave 'stdin' out");
        }

        if (testCases.Any(c => c?.ExpectedOutput is null))
        {
            return Invalid("every test case needs 'expectedOutput'");
        }

        if (testCases.Count > options.Value.MaxTestCases)
        {
            return TypedResults.Problem($"too many test cases: {testCases.Count} (at most {options.Value.MaxTestCases})", statusCode: StatusCodes.Status413PayloadTooLarge, title: "Run request too large");
        }

        if (body.CallbackUrl is not null && RunCallbackPolicy.Refusal(body.CallbackUrl, apiOptions.Value.CallbackHosts) is { } refusal)
        {
            return Invalid(refusal);
        }

        var (course, courseRefusal) = CourseRunPolicy.Select(context.User, body.Course);
        if (courseRefusal is not null)
        {
            return TypedResults.Problem(courseRefusal, statusCode: StatusCodes.Status403Forbidden, title: "Course refused");
        }

        var request = RunRequestFactory.Batch(language, files, body.Stdin, body.Limits);
        try
        {
            var cases = testCases.Select(c => new BatchTestCase(c.Name, c.Stdin, c.ExpectedOutput!)).ToList();
            var owner = ClientKeys.Owner(context, SessionSurface.Batch) with { Course = course };
            var record = await submitter.SubmitAsync(request, owner, cancellationToken, cases, body.Comparison, body.CallbackUrl);
            return TypedResults.Accepted($"/api/v1/runs/{record.Id}", new RunCreated(record.Id, "queued"));
        }
        catch (RunValidationException e)
        {
            return Refused(e);
        }
        catch (SessionRefusedException e)
        {
            return Refused(e, context);
        }
    }

    internal static async Task<Results<Ok<RunDto>, NotFound>> GetRunAsync(
        string id, bool? wait, RunStore store, RunVisibility visibility, RunEndWaiters waiters, IOptions<BatchJobOptions> options, TimeProvider timeProvider, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var runId))
        {
            return TypedResults.NotFound();
        }

        // Watching starts before the first read, so an end stored in between wakes the wait at once.
        using var watch = wait == true ? waiters.Start(runId) : null;
        if (await visibility.FindAsync(context.User, runId, cancellationToken) is not { } record)
        {
            return TypedResults.NotFound();
        }

        if (watch is not null)
        {
            // The result consumers of this process wake the wait; the slow poll finds ends stored by another one.
            var deadline = timeProvider.GetUtcNow() + TimeSpan.FromSeconds(options.Value.MaxWaitSeconds);
            while (!IsTerminal(record) && timeProvider.GetUtcNow() is var now && now < deadline)
            {
                var remaining = deadline - now;
                await watch.WaitAsync(remaining < RunEndWaiters.FallbackPollInterval ? remaining : RunEndWaiters.FallbackPollInterval, timeProvider, cancellationToken);
                record = await store.FindAsync(runId, cancellationToken) ?? record;
            }
        }

        int? position = record.Status == RunRecordStatus.Queued ? await store.QueuePositionAsync(record, cancellationToken) : null;
        return TypedResults.Ok(ToDto(record, position));
    }

    private static bool IsTerminal(RunRecord record) => record.Status is RunRecordStatus.Completed or RunRecordStatus.Failed;

    /// <summary>A run as <c>GET /api/v1/runs/{id}</c> and its callback show it.</summary>
    internal static RunDto ToDto(RunRecord record, int? position) => new(
        record.Id,
        record.Status.ToString().ToLowerInvariant(),
        record.Language,
        position,
        DateTime.SpecifyKind(record.QueuedAtUtc, DateTimeKind.Utc),
        record.StartedAtUtc is { } s ? DateTime.SpecifyKind(s, DateTimeKind.Utc) : null,
        record.FinishedAtUtc is { } f ? DateTime.SpecifyKind(f, DateTimeKind.Utc) : null,
        Limits(record),
        IsTerminal(record) && record.Verdict is not null
            ? new RunResultDto(record.Verdict, record.ExitCode, record.Signal, record.CompileOutput, record.Stdout ?? string.Empty, record.Stderr ?? string.Empty, record.WallMs ?? 0, record.CpuMs ?? 0, record.PeakMemoryBytes ?? 0,
                record.Comparison,
                record.TestResultsJson is { } tests ? JsonSerializer.Deserialize(tests, RunStoreJsonContext.Default.ListTestCaseResult) : null)
            : null,
        record.FailureReason,
        record.WorkerId,
        record.ContentExpiredAtUtc is { } expired ? DateTime.SpecifyKind(expired, DateTimeKind.Utc) : null,
        record.Surface,
        record.Backend,
        record.Owner,
        record.Course);

    /// <summary>
    /// The limits the program got. Interactive runs recorded before 2026-12-01 stored the overrides they asked for
    /// (often none, some fields missing), not what they got: shown as unknown rather than as zeros.
    /// </summary>
    internal static BatchLimits? Limits(RunRecord record)
    {
        try
        {
            return JsonSerializer.Deserialize(record.LimitsJson, BatchJsonContext.Default.BatchLimits) is { WallSeconds: > 0, CpuSeconds: > 0, MemoryBytes: > 0, OutputBytes: > 0 } limits
                ? limits
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ProblemHttpResult Invalid(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid run request");

    /// <summary>
    /// Admission said no: 503 when the queue as a whole is full, 429 when this client is over its share;
    /// both with Retry-After, so well-behaved clients back off on their own.
    /// </summary>
    private static ProblemHttpResult Refused(SessionRefusedException e, HttpContext context)
    {
        if (e.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return e.IsServerFull
            ? TypedResults.Problem(e.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "Server busy")
            : TypedResults.Problem(e.Message, statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests");
    }

    private static ProblemHttpResult Refused(RunValidationException e) =>
        e.IsTooLarge ? TypedResults.Problem(e.Message, statusCode: StatusCodes.Status413PayloadTooLarge, title: "Run request too large")
        : e.Error == RunRequestError.CourseRefused ? TypedResults.Problem(e.Message, statusCode: StatusCodes.Status403Forbidden, title: "Course refused")
        : TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest, title: "Invalid run request");
}

/// <summary>Per-endpoint request body limit, applied by routing through <see cref="IRequestSizeLimitMetadata"/>.</summary>
internal sealed class RequestBodyLimit(long maxBytes) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize { get; } = maxBytes;
}

/// <summary>
/// The seed's SUCCESS/FAILURE rule. SUCCESS: the program ran and ended by itself (verdict <c>ok</c> or
/// <c>runtime_error</c>, any exit code), as the seed returned whatever its container printed; output is
/// stdout followed by stderr. FAILURE: everything else (compile error, a limit, killed, invalid or
/// internal failure), with a message; the details are in <c>/api/v1/runs/{id}</c>.
/// </summary>
public static class SeedResults
{
    public static SeedTaskResult From(RunRecord record)
    {
        switch (record.Status)
        {
            case RunRecordStatus.Queued or RunRecordStatus.Running:
                return new SeedTaskResult("PENDING", null);
            case RunRecordStatus.Completed or RunRecordStatus.Failed when record.ContentExpiredAtUtc is { } expired:
                // The seed knows no "expired" status, and a SUCCESS with an empty output would be a lie.
                var message = string.Create(CultureInfo.InvariantCulture, $"the result has expired: its output was deleted on {expired:yyyy-MM-dd}, as runs keep their output for a limited time after they finish");
                return new SeedTaskResult("FAILURE", JsonSerializer.SerializeToElement(message, BatchJsonContext.Default.String));
            case RunRecordStatus.Completed when record.Verdict is "ok" or "runtime_error":
                var output = (record.Stdout ?? string.Empty) + (record.Stderr ?? string.Empty);
                return new SeedTaskResult("SUCCESS", JsonSerializer.SerializeToElement(new SeedOutput(output), BatchJsonContext.Default.SeedOutput));
            default:
                return new SeedTaskResult("FAILURE", JsonSerializer.SerializeToElement(FailureMessage(record), BatchJsonContext.Default.String));
        }
    }

    private static string FailureMessage(RunRecord record) => record.Verdict switch
    {
        "compile_error" => $"compile error:\n{record.CompileOutput}",
        "time_limit" => "time limit exceeded",
        "memory_limit" => "memory limit exceeded",
        "output_limit" => "output limit exceeded",
        "killed" => "the run was killed",
        _ => record.FailureReason ?? "the run failed",
    };
}

public sealed record SeedOutput([property: JsonPropertyName("output")] string Output);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(SeedRunCodeRequest))]
[JsonSerializable(typeof(SeedTaskCreated))]
[JsonSerializable(typeof(SeedTaskResult))]
[JsonSerializable(typeof(SeedOutput))]
[JsonSerializable(typeof(CreateRunRequest))]
[JsonSerializable(typeof(TestCaseDto))]
[JsonSerializable(typeof(RunCreated))]
[JsonSerializable(typeof(RunDto))]
[JsonSerializable(typeof(List<BatchFile>))]
[JsonSerializable(typeof(BatchLimits))]
[JsonSerializable(typeof(string))]
internal sealed partial class BatchJsonContext : JsonSerializerContext;
