using System.Net;
using System.Net.Sockets;
using System.Security.Claims;
using IrisIde.Execution.Sessions;
using Microsoft.AspNetCore.Http;

namespace IrisIde.Execution.Admission;

/// <summary>
/// The key per-client caps count under: the signed-in user, else the client's address. The address is
/// the one Kestrel saw, or the forwarded one when the forwarded-headers middleware trusted the proxy
/// that sent it (only configured proxies are trusted, so a client cannot pick its own key).
/// </summary>
public static class ClientKeys
{
    /// <summary>
    /// The <see cref="HttpContext.Items"/> key under which a host puts the course a request's runs belong to, after
    /// checking the client may run there (the web app's course filter); <see cref="Owner"/> carries it along.
    /// </summary>
    public const string CourseItem = "iris:course";

    /// <summary>The owner of a session asked for on <paramref name="context"/>.</summary>
    public static SessionOwner Owner(HttpContext context, SessionSurface surface)
    {
        ArgumentNullException.ThrowIfNull(context);
        var userId = UserId(context.User);
        var course = context.Items.TryGetValue(CourseItem, out var item) ? item as string : null;
        return new SessionOwner(userId is null ? ForAddress(context.Connection.RemoteIpAddress) : $"user:{userId}", userId, course, surface);
    }

    /// <summary>
    /// <c>ip:{address}</c>. An IPv6 client is keyed by its /64, since one host is routinely handed a
    /// whole /64 and could otherwise take a fresh key per connection.
    /// </summary>
    public static string ForAddress(IPAddress? address)
    {
        if (address is null)
        {
            return "ip:unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && !IPAddress.IsLoopback(address))
        {
            var bytes = address.GetAddressBytes();
            Array.Clear(bytes, 8, 8);
            return $"ip:{new IPAddress(bytes)}/64";
        }

        return $"ip:{address}";
    }

    private static string? UserId(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true
            ? user.FindFirst(ClaimTypes.NameIdentifier)?.Value ?? user.Identity.Name
            : null;
}
