using System.Security.Cryptography;

namespace IrisIde.Web.Courses;

/// <summary>
/// Join codes: 60 random bits (12 characters of a 32-letter alphabet), so guessing one is hopeless even at
/// many tries a second; easy to read out in a lecture and type. Case and dashes do not matter when typed.
/// </summary>
public static class JoinCodes
{
    // No 0/o, 1/l/i: a code read aloud or copied from a slide should not be ambiguous.
    private const string Alphabet = "abcdefghjkmnpqrstuvwxyz23456789";

    public const int Length = 14;

    public static string Generate()
    {
        var c = RandomNumberGenerator.GetItems<char>(Alphabet, 12);
        return $"{new string(c, 0, 4)}-{new string(c, 4, 4)}-{new string(c, 8, 4)}";
    }

    /// <summary>The code as stored, from what a person typed (spaces and case ignored, dashes restored); null if it cannot be one.</summary>
    public static string? Normalize(string? typed)
    {
        if (typed is null)
        {
            return null;
        }

        var letters = new string([.. typed.Where(ch => !char.IsWhiteSpace(ch) && ch != '-').Select(char.ToLowerInvariant)]);
        if (letters.Length != 12 || letters.Any(ch => !Alphabet.Contains(ch, StringComparison.Ordinal)))
        {
            return null;
        }

        return $"{letters[..4]}-{letters[4..8]}-{letters[8..]}";
    }
}
