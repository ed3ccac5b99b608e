using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace IrisIde.Bench;

/// <summary>One generated course: its id, and how many of its runs each filter the bench asks for matches.</summary>
internal sealed record GeneratedCourse(Guid Id, string Code, int Runs, string FilterStudentId, int StudentVerdictRuns, int LanguageRuns);

/// <summary>What <see cref="CourseRunsData"/> wrote, and how long the runs took to insert.</summary>
internal sealed record GeneratedCourses(GeneratedCourse Big, GeneratedCourse Small, int Students, TimeSpan InsertTime);

/// <summary>
/// A term of runs for the paging figure, written through the web app's own entity model (<see cref="SqliteIrisDbContext"/>,
/// <see cref="RunRecord"/>, <see cref="Course"/>, <see cref="CourseMember"/>) into the database its migrations made, so
/// the bench pages through rows shaped exactly like the app's. Runs go in one transaction through one prepared
/// INSERT whose columns and value conversions come from the EF model: tracked entities would take minutes for
/// 100,000 rows, and a schema the model no longer matches fails the insert instead of measuring an empty course.
/// </summary>
internal static class CourseRunsData
{
    public const int Students = 60;

    /// <summary>The verdict of the filtered figure (with one student): a fairly common one.</summary>
    public const string FilterVerdict = "runtime_error";

    /// <summary>The language of the filtered figure: a minority of the runs, so the filter has to skip most of the course.</summary>
    public const string FilterLanguage = "java";

    private static readonly TimeSpan Term = TimeSpan.FromDays(7 * 15);

    // Weighted like a first-year course: mostly Python in the IDE, mostly passing.
    private static readonly (string Value, int Weight)[] Languages = [("python", 50), ("c", 15), ("cpp", 15), ("java", 12), ("javascript", 8)];

    private static readonly (string Value, int Weight)[] Verdicts =
        [("ok", 55), ("runtime_error", 15), ("compile_error", 15), ("time_limit", 8), ("memory_limit", 3), ("output_limit", 2), ("killed", 2)];

    private static readonly (string Value, int Weight)[] Surfaces = [(RunSurfaces.Ide, 60), (RunSurfaces.WebSocket, 15), (RunSurfaces.Batch, 25)];

    /// <summary>Batch runs' content older than this is gone, as the app's retention purge would have left it (<c>Iris:Batch:RetentionDays</c>' default).</summary>
    private static readonly TimeSpan BatchRetention = TimeSpan.FromDays(30);

    /// <summary>
    /// Adds <see cref="Students"/> students in two courses, one with <paramref name="bigRuns"/> runs and one with
    /// <paramref name="smallRuns"/>, to the migrated SQLite database at <paramref name="databasePath"/>.
    /// </summary>
    public static async Task<GeneratedCourses> WriteAsync(string databasePath, int bigRuns, int smallRuns, CancellationToken cancellationToken)
    {
        var options = new DbContextOptionsBuilder<SqliteIrisDbContext>().UseSqlite($"Data Source={databasePath}").Options;
        await using var db = new SqliteIrisDbContext(options);
        if ((await db.Database.GetPendingMigrationsAsync(cancellationToken)).Any())
        {
            throw new InvalidOperationException($"{databasePath} is not migrated: run the admin command (or the app) on it first");
        }

        var random = new Random(20261130);
        var now = DateTime.UtcNow;
        var students = Enumerable.Range(1, Students).Select(i => Student(i, now - Term)).ToList();
        var big = NewCourse("BIG100K", "Programming 1 (large)", now - Term);
        var small = NewCourse("SMALL1K", "Programming 1 (small)", now - Term);
        db.Users.AddRange(students);
        db.Courses.AddRange(big, small);
        db.CourseMembers.AddRange(students.SelectMany(s => new[] { big, small }.Select(c => new CourseMember
        {
            CourseId = c.Id,
            UserId = s.Id,
            Role = CourseRole.Student,
            JoinedAtUtc = c.CreatedAtUtc,
        })));
        await db.SaveChangesAsync(cancellationToken);

        var started = Stopwatch.GetTimestamp();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await using var insert = new RunInsert(db, transaction.GetDbTransaction());
        var bigCourse = await WriteRunsAsync(insert, big, bigRuns, students, random, now, cancellationToken);
        var smallCourse = await WriteRunsAsync(insert, small, smallRuns, students, random, now, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        var insertTime = Stopwatch.GetElapsedTime(started);

        // Found by id as the run page finds one: the ids are stored in the provider's format.
        if (!await db.Runs.AnyAsync(r => r.Id == insert.LastId, cancellationToken))
        {
            throw new InvalidOperationException($"run {insert.LastId} was written but is not found by its id");
        }

        // What the app's query reads back, not what the bench meant to write.
        foreach (var course in new[] { bigCourse, smallCourse })
        {
            var text = course.Id.ToString();
            var stored = await db.Runs.CountAsync(r => r.Course == text, cancellationToken);
            if (stored != course.Runs)
            {
                throw new InvalidOperationException($"course {course.Code}: {course.Runs} runs written, {stored} read back");
            }
        }

        return new GeneratedCourses(bigCourse, smallCourse, Students, insertTime);
    }

    private static async Task<GeneratedCourse> WriteRunsAsync(
        RunInsert insert, Course course, int count, List<IrisUser> students, Random random, DateTime now, CancellationToken cancellationToken)
    {
        var filterStudent = students[7].Id;
        int studentVerdict = 0, language = 0;
        var courseId = course.Id.ToString();
        for (var i = 0; i < count; i++)
        {
            var owner = students[random.Next(students.Count)].Id;
            var run = Run(courseId, owner, random, now);
            if (owner == filterStudent && run.Verdict == FilterVerdict)
            {
                studentVerdict++;
            }

            if (run.Language == FilterLanguage)
            {
                language++;
            }

            await insert.AddAsync(run, cancellationToken);
        }

        return new GeneratedCourse(course.Id, course.Code, count, filterStudent, studentVerdict, language);
    }

    private static RunRecord Run(string course, string owner, Random random, DateTime now)
    {
        var surface = Pick(Surfaces, random);
        var language = Pick(Languages, random);
        var verdict = Pick(Verdicts, random);
        var queued = now - TimeSpan.FromSeconds(random.NextDouble() * Term.TotalSeconds);
        var started = queued.AddMilliseconds(5 + random.Next(200));
        var wallMs = verdict == "time_limit" ? 10_000 : 20 + random.Next(2_000);
        var finished = started.AddMilliseconds(wallMs);
        var batch = surface == RunSurfaces.Batch;
        return new RunRecord
        {
            Id = Guid.CreateVersion7(queued),
            Owner = owner,
            Course = course,
            ClientKey = $"user:{owner}",
            Kind = batch ? RunKind.Batch : RunKind.Interactive,
            Surface = surface,
            Backend = batch ? null : "local",
            Status = RunRecordStatus.Completed,
            Language = language,
            FilesJson = $$"""[{"name":"main.{{language}}","content":"// exercise {{random.Next(12)}}"}]""",
            LimitsJson = """{"wallSeconds":10,"cpuSeconds":5,"memoryBytes":268435456}""",
            QueuedAtUtc = queued,
            StartedAtUtc = started,
            FinishedAtUtc = finished,
            Stdout = batch ? "42\n" : null,
            ExitCode = verdict switch { "ok" => 0, "runtime_error" => 1, _ => null },
            Signal = verdict is "time_limit" or "memory_limit" or "killed" ? 9 : null,
            Verdict = verdict,
            WallMs = wallMs,
            CpuMs = wallMs / 2,
            PeakMemoryBytes = (8 + random.Next(120)) * 1024L * 1024,
            WorkerId = batch ? "worker-1" : null,
            ContentExpiredAtUtc = batch && now - finished > BatchRetention ? finished + BatchRetention : null,
        };
    }

    private static string Pick((string Value, int Weight)[] choices, Random random)
    {
        var roll = random.Next(choices.Sum(c => c.Weight));
        foreach (var (value, weight) in choices)
        {
            if (roll < weight)
            {
                return value;
            }

            roll -= weight;
        }

        throw new UnreachableException();
    }

    private static IrisUser Student(int number, DateTime created)
    {
        var email = string.Create(CultureInfo.InvariantCulture, $"student{number:00}@iris.invalid");
        return new IrisUser
        {
            Id = Guid.NewGuid().ToString(),
            UserName = email,
            NormalizedUserName = email.ToUpperInvariant(),
            Email = email,
            NormalizedEmail = email.ToUpperInvariant(),
            EmailConfirmed = true,
            SecurityStamp = Guid.NewGuid().ToString("N"),
            CreatedAtUtc = created,
        };
    }

    private static Course NewCourse(string code, string name, DateTime created) => new()
    {
        Id = Guid.CreateVersion7(created),
        Name = name,
        Code = code,
        Term = "Autumn 2026",
        JoinCode = JoinCodes.Generate(),
        CreatedAtUtc = created,
    };

    /// <summary>
    /// One prepared <c>INSERT</c> into the runs table with a column for every property the model maps, each value
    /// converted and typed by the property's own type mapping (enums as text, Guids and dates as the provider stores them).
    /// </summary>
    private sealed class RunInsert : IAsyncDisposable
    {
        private readonly DbCommand _command;
        private readonly (IProperty Property, RelationalTypeMapping Mapping)[] _columns;

        public RunInsert(IrisDbContext db, DbTransaction transaction)
        {
            var entity = db.Model.FindEntityType(typeof(RunRecord)) ?? throw new InvalidOperationException("RunRecord is not in the model");
            var table = StoreObjectIdentifier.Table(entity.GetTableName() ?? throw new InvalidOperationException("RunRecord has no table"), entity.GetSchema());
            _columns = [.. entity.GetProperties().Select(p => p.IsShadowProperty()
                ? throw new InvalidOperationException($"runs.{p.Name} is a shadow property: the generator has no value for it")
                : (p, (RelationalTypeMapping)p.GetRelationalTypeMapping()))];
            _command = transaction.Connection!.CreateCommand();
            _command.Transaction = transaction;
            var columns = string.Join(", ", _columns.Select(c => $"\"{c.Property.GetColumnName(table)}\""));
            var values = string.Join(", ", _columns.Select((_, i) => string.Create(CultureInfo.InvariantCulture, $"@p{i}")));
            _command.CommandText = $"INSERT INTO \"{table.Name}\" ({columns}) VALUES ({values})";
        }

        public async Task AddAsync(RunRecord run, CancellationToken cancellationToken)
        {
            for (var i = 0; i < _columns.Length; i++)
            {
                var (property, mapping) = _columns[i];
                var value = property.GetGetter().GetClrValueUsingContainingEntity(run);
                if (_command.Parameters.Count == i)
                {
                    // The first row makes the parameters, typed by the mapping; later rows only convert their values.
                    _command.Parameters.Add(mapping.CreateParameter(_command, string.Create(CultureInfo.InvariantCulture, $"@p{i}"), value, property.IsNullable));
                }
                else
                {
                    _command.Parameters[i].Value = (value is null ? null : mapping.Converter?.ConvertToProvider(value) ?? value) ?? DBNull.Value;
                }
            }

            if (await _command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                throw new InvalidOperationException("a run's INSERT did not insert one row");
            }

            LastId = run.Id;
        }

        public Guid LastId { get; private set; }

        public ValueTask DisposeAsync() => _command.DisposeAsync();
    }
}
