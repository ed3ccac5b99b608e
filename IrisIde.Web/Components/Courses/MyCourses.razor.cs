using System.ComponentModel.DataAnnotations;
using IrisIde.Web.Courses;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Courses;

/// <summary>
/// "My courses": the signed-in user's courses with their role, a form to join one by its code, and for
/// instructors and admins a form to create one (its creator becomes its instructor). Admins also see every course.
/// </summary>
public sealed partial class MyCourses
{
    private IReadOnlyList<CourseView> _mine = [];
    private IReadOnlyList<Course> _all = [];
    private CourseActor? _actor;
    private string? _error;
    private string? _notice;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "join-course")]
    private JoinForm Join { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "create-course")]
    private NewCourseForm NewCourse { get; set; } = default!;

    [Inject]
    private CourseService Service { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        Join ??= new();
        NewCourse ??= new();
        _actor = CourseActor.Of(HttpContext.User);
        await LoadAsync();
    }

    private async Task JoinAsync()
    {
        if (_actor is null)
        {
            return;
        }

        var result = await Service.JoinAsync(_actor, Join.Code, HttpContext.RequestAborted);
        if (!result.Succeeded)
        {
            _error = $"Could not join: {result.Error}";
            return;
        }

        _notice = $"You joined {result.Course!.Code} {result.Course.Name} ({result.Course.Term}) as a student.";
        Join = new();
        await LoadAsync();
    }

    private async Task CreateAsync()
    {
        if (_actor is null)
        {
            return;
        }

        var result = await Service.CreateAsync(_actor, NewCourse.Name, NewCourse.Code, NewCourse.Term, HttpContext.RequestAborted);
        if (!result.Succeeded)
        {
            _error = $"Could not create the course: {result.Error}";
            return;
        }

        Navigation.NavigateTo($"/courses/{result.Course!.Id}");
    }

    private async Task LoadAsync()
    {
        if (_actor is null)
        {
            return;
        }

        _mine = await Service.ListMineAsync(_actor, HttpContext.RequestAborted);
        _all = await Service.ListAllAsync(_actor, HttpContext.RequestAborted);
    }

    private sealed class JoinForm
    {
        [Required(ErrorMessage = "Enter the course's join code.")]
        [MaxLength(64, ErrorMessage = "A join code is 12 letters and digits (abcd-efgh-jkmn).")]
        public string Code { get; set; } = "";
    }

    private sealed class NewCourseForm
    {
        [Required(ErrorMessage = "Name the course.")]
        public string Name { get; set; } = "";

        [Required(ErrorMessage = "Give the course's code (CS101).")]
        public string Code { get; set; } = "";

        [Required(ErrorMessage = "Give the term (Fall 2026).")]
        public string Term { get; set; } = "";
    }
}
