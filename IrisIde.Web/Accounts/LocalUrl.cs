namespace IrisIde.Web.Accounts;

/// <summary>Where a sign-in may send the browser afterwards: only a path on this site, never another one.</summary>
public static class LocalUrl
{
    /// <summary>
    /// True for <c>/path?query</c> only. <c>//host</c> and <c>/\host</c> are other sites to a browser,
    /// <c>https:</c>, <c>javascript:</c> and relative paths are refused too, and so is anything with control characters.
    /// </summary>
    public static bool IsLocal(string? url) =>
        url is { Length: > 0 and <= 2048 }
        && url[0] == '/'
        && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);

    /// <summary><paramref name="url"/> if it is local, else <c>/</c>.</summary>
    public static string OrRoot(string? url) => IsLocal(url) ? url! : "/";
}
