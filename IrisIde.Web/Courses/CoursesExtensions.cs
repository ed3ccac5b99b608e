using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IrisIde.Web.Courses;

public static class CoursesExtensions
{
    /// <summary>Courses: the service the pages and the run surfaces share. Needs the database and accounts.</summary>
    public static IServiceCollection AddCourses(this IServiceCollection services)
    {
        services.TryAddScoped<CourseService>();
        return services;
    }
}
