using System.Globalization;
using IrisIde.Web.Courses;

namespace IrisIde.Web.Components.Courses;

/// <summary>How course values read on the pages.</summary>
internal static class CourseText
{
    public static string Role(CourseRole? role) => role switch
    {
        CourseRole.Student => "student",
        CourseRole.TeachingAssistant => "teaching assistant",
        CourseRole.Instructor => "instructor",
        _ => "admin (not a member)",
    };

    public static string Date(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    public static string Limit(double? value, string unit) => value is { } v ? $"{v.ToString(CultureInfo.InvariantCulture)} {unit}" : "server default";

    public static string Count(int? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "server default";
}
