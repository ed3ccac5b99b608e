using System.Security.Cryptography;

namespace IrisIde.Web.Accounts;

/// <summary>Passwords an admin hands over once (new accounts, resets): 80 random bits, easy to read out and type.</summary>
public static class OneTimePasswords
{
    // No 0/o, 1/l/i: a password read aloud or copied by hand should not be ambiguous.
    private const string Alphabet = "abcdefghjkmnpqrstuvwxyz23456789";

    public static string Generate()
    {
        var characters = RandomNumberGenerator.GetItems<char>(Alphabet, 16);
        return $"{new string(characters, 0, 4)}-{new string(characters, 4, 4)}-{new string(characters, 8, 4)}-{new string(characters, 12, 4)}";
    }
}
