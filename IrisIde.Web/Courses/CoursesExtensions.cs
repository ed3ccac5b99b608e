using IrisIde.Execution.Admission;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Courses;

public static class CoursesExtensions
{
    /// <summary>The query parameter of <c>/ws</c> and <c>/run</c> that names the course a connection's runs belong to.</summary>
    public const string CourseQueryParameter = "course";

    /// <summary>
    /// Courses: the service the pages and the run surfaces share, and the course rules in front of the session
    /// host. Needs the database, accounts and a session host (<c>AddIrisExecution</c>) registered before.
    /// </summary>
    public static IServiceCollection AddCourses(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CoursesOptions>()
            .Bind(configuration.GetSection(CoursesOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CoursesOptions>, CoursesOptionsValidator>());
        services.TryAddScoped<JoinAttemptLimit>();
        services.TryAddScoped<CourseService>();
        services.TryAddScoped<CourseRunPolicy>();
        // Without the wrapper the hub and /ws would run in any course unchecked: no silent skip.
        if (services.LastOrDefault(d => d.ServiceType == typeof(ISessionHost)) is not { ImplementationFactory: { } factory } registered)
        {
            throw new InvalidOperationException("AddCourses needs the session host registered first, by a factory (AddIrisExecution's backend selection)");
        }

        services.Remove(registered);
        services.AddSingleton<ISessionHost>(provider => new CourseSessionHost((ISessionHost)factory(provider), provider.GetRequiredService<IServiceScopeFactory>()));
        return services;
    }

    /// <summary>
    /// Reads the course of a <c>/ws</c> connection (<c>?course=</c>, or its course token's) before the upgrade and
    /// checks it: a refusal is an HTTP error the client sees before any protocol message. Without a course the
    /// seed protocol is untouched.
    /// </summary>
    public static TBuilder RequireCourseAccess<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var (course, error) = CourseRunPolicy.Select(http.User, http.Request.Query[CourseQueryParameter].FirstOrDefault());
            if (error is not null)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Course refused", detail: error);
            }

            if (course is not null)
            {
                var userId = RunAccess.UserId(http.User);
                var (found, refusal) = await http.RequestServices.GetRequiredService<CourseService>().ForRunAsync(userId, course, http.RequestAborted);
                if (found is null)
                {
                    return TypedResults.Problem(statusCode: userId is null ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden, title: "Course refused", detail: refusal);
                }

                http.Items[ClientKeys.CourseItem] = found.Id.ToString();
            }

            return await next(context);
        });
}
