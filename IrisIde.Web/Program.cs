using IrisIde.Execution;
using IrisIde.Execution.Health;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Accounts.Oidc;
using IrisIde.Web.Audit;
using IrisIde.Web.Batch;
using IrisIde.Web.Components;
using IrisIde.Web.Courses;
using IrisIde.Web.Dashboard;
using IrisIde.Web.Health;
using IrisIde.Web.History;
using IrisIde.Web.Hubs;
using IrisIde.Web.Languages;
using IrisIde.Web.Metrics;
using IrisIde.Web.Runner;
using IrisIde.Web.RunViews;
using IrisIde.Web.Security;
using IrisIde.Web.Workers;

if (AdminCommandLine.IsAdminCommand(args))
{
    return await AdminCommandLine.RunAsync(args[1..], Console.In, Console.Out, Console.Error);
}

// The container's health check (no curl in the image): `IrisIde.Web.dll probe [URL]`.
if (args is ["probe", .. var probe])
{
    return await HealthProbe.RunAsync(probe is [var url, ..] ? url : "http://127.0.0.1:8080/healthz/ready", Console.Out);
}

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddIrisExecution(builder.Configuration).AddConfiguredBackends().AddRunnerProtocol();
builder.Services.AddRunnerAccess(builder.Configuration);
builder.Services.AddIrisSecurity(builder.Configuration);
builder.Services.AddExecutionHub(builder.Configuration);
builder.Services.AddLanguagesApi();
builder.Services.AddBatchRuns(builder.Configuration, builder.Environment);
builder.Services.AddAccounts(builder.Configuration);
builder.Services.AddAccessTokens(builder.Configuration);
builder.Services.AddAudit(builder.Configuration);
builder.Services.AddRunHistory(builder.Configuration);
builder.Services.AddCourses(builder.Configuration);
builder.Services.AddRunViews();
builder.Services.AddAdminDashboard();
builder.Services.AddMetricsEndpoint(builder.Configuration);
builder.Services.AddIrisHealthChecks(builder.Configuration);
builder.AddIdeUi();

var app = builder.Build();

app.UseIrisSecurity();
app.UseAccessTokens();
app.UseAccounts();
app.UseRunnerWebSockets();
app.UseBatchApiProblemDetails();
app.MapRunnerProtocol("/ws");
app.MapRunnerProtocol("/run");
app.MapExecutionHub();
app.MapLanguagesApi();
app.MapBatchApi();
app.MapRunHistoryApi();
app.MapRunViews();
app.MapIrisHealthChecks();
app.MapWorkersApi();
app.MapMetricsEndpoint();
app.MapAccounts();
app.MapOidcSignIn();
app.MapIdeUi();

await app.RunAsync();
return 0;

/// <summary>The web host; public so integration tests can start it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
