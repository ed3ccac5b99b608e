namespace IrisIde.Web.Components;

/// <summary>The IDE page: Blazor Server components and the static files they load.</summary>
public static class IdeUiExtensions
{
    public static IServerSideBlazorBuilder AddIdeUi(this WebApplicationBuilder builder)
    {
        // Static web assets (BlazorMonaco's files, the collocated JS modules, the CSS bundle) are served
        // from their build locations only where ASP.NET Core turns this on by itself, in Development;
        // ./iris run uses a Release build in Production, so turn it on here. Without a build manifest
        // (a published app) this does nothing.
        builder.WebHost.UseStaticWebAssets();
        return builder.Services.AddRazorComponents()
            .AddInteractiveServerComponents()
            // Neither the source nor program output crosses the circuit (the terminal module talks to
            // the execution hub itself), so SignalR's 32 KB receive limit stays: the largest message
            // from the page is a status event.
            .AddHubOptions(options => options.MaximumReceiveMessageSize = 32 * 1024);
    }

    /// <summary>Static files (wwwroot, BlazorMonaco's Monaco copy, the npm libraries) and the IDE at <c>/</c>.</summary>
    public static RazorComponentsEndpointConventionBuilder MapIdeUi(this WebApplication app)
    {
        app.UseAntiforgery();
        app.MapStaticAssets();
        return app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
    }
}
