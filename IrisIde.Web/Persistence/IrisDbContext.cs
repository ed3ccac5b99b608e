using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Audit;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Persistence;

/// <summary>
/// The app's database. One model, two providers: <see cref="SqliteIrisDbContext"/> and
/// <see cref="PostgresIrisDbContext"/> only exist so each provider has its own migrations. Accounts are
/// ASP.NET Core Identity's stores, in tables named like ours; the Data Protection key ring lives here too.
/// </summary>
public abstract class IrisDbContext(DbContextOptions options) : IdentityDbContext<IrisUser>(options), IDataProtectionKeyContext
{
    public DbSet<RunRecord> Runs => Set<RunRecord>();

    public DbSet<RunTranscriptChunk> TranscriptChunks => Set<RunTranscriptChunk>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<AccessToken> AccessTokens => Set<AccessToken>();

    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();

    public DbSet<Course> Courses => Set<Course>();

    public DbSet<CourseMember> CourseMembers => Set<CourseMember>();

    public DbSet<CourseJoinFailure> CourseJoinFailures => Set<CourseJoinFailure>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.Entity<IrisUser>().ToTable("users");
        builder.Entity<IdentityRole>().ToTable("roles").HasData(IrisRoles.Seed());
        builder.Entity<IdentityUserRole<string>>().ToTable("user_roles");
        builder.Entity<IdentityUserClaim<string>>().ToTable("user_claims");
        builder.Entity<IdentityUserLogin<string>>().ToTable("user_logins");
        builder.Entity<IdentityUserToken<string>>().ToTable("user_tokens");
        builder.Entity<IdentityRoleClaim<string>>().ToTable("role_claims");
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");

        var token = builder.Entity<AccessToken>();
        token.ToTable("access_tokens");
        token.HasKey(t => t.Id);
        token.Property(t => t.Name).HasMaxLength(AccessToken.MaxNameLength);
        token.Property(t => t.SecretHash).HasMaxLength(32);
        token.Property(t => t.Scopes).HasMaxLength(256);
        token.Ignore(t => t.ScopeList);
        // A deleted user's tokens go with them; the tokens page lists a user's own.
        token.HasOne<IrisUser>().WithMany().HasForeignKey(t => t.UserId).OnDelete(DeleteBehavior.Cascade);
        token.HasIndex(t => new { t.UserId, t.CreatedAtUtc });
        // A course token; courses are archived, not deleted, so this only fires if an admin deletes one by hand.
        token.HasOne<Course>().WithMany().HasForeignKey(t => t.CourseId).OnDelete(DeleteBehavior.Cascade);

        var course = builder.Entity<Course>();
        course.ToTable("courses");
        course.HasKey(c => c.Id);
        course.Property(c => c.Name).HasMaxLength(Course.MaxNameLength);
        course.Property(c => c.Code).HasMaxLength(Course.MaxCodeLength);
        course.Property(c => c.Term).HasMaxLength(Course.MaxTermLength);
        course.Property(c => c.JoinCode).HasMaxLength(JoinCodes.Length);
        course.Property(c => c.Languages).HasMaxLength(Course.MaxLanguagesLength);
        course.Ignore(c => c.IsArchived);
        course.Ignore(c => c.LanguageList);
        // Joining looks a course up by its code, which must name one course only.
        course.HasIndex(c => c.JoinCode).IsUnique();

        var member = builder.Entity<CourseMember>();
        member.ToTable("course_members");
        member.HasKey(m => new { m.CourseId, m.UserId });
        member.Property(m => m.Role).HasConversion<string>().HasMaxLength(32);
        member.HasOne<Course>().WithMany().HasForeignKey(m => m.CourseId).OnDelete(DeleteBehavior.Cascade);
        // A deleted user leaves their courses; "my courses" lists by user.
        member.HasOne<IrisUser>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        member.HasIndex(m => m.UserId);

        var joinFailure = builder.Entity<CourseJoinFailure>();
        joinFailure.ToTable("course_join_failures");
        joinFailure.HasKey(f => f.Id);
        // A deleted user's count goes with them; the limit counts one user's recent failures.
        joinFailure.HasOne<IrisUser>().WithMany().HasForeignKey(f => f.UserId).OnDelete(DeleteBehavior.Cascade);
        joinFailure.HasIndex(f => new { f.UserId, f.AtUtc });

        var audit = builder.Entity<AuditEntry>();
        audit.ToTable("audit_log");
        audit.HasKey(e => e.Id);
        audit.Property(e => e.ActorId).HasMaxLength(64);
        audit.Property(e => e.Actor).HasMaxLength(AuditEntry.MaxActorLength);
        audit.Property(e => e.Action).HasMaxLength(64);
        audit.Property(e => e.Target).HasMaxLength(AuditEntry.MaxTargetLength);
        audit.Property(e => e.ClientIp).HasMaxLength(64);
        audit.Property(e => e.Outcome).HasConversion<string>().HasMaxLength(16);
        audit.Property(e => e.Detail).HasMaxLength(AuditEntry.MaxDetailLength);
        // No foreign key to users: the log outlives the accounts it names. The admin page lists newest first,
        // by action or by actor; the retention purge deletes by time.
        audit.HasIndex(e => e.AtUtc);
        audit.HasIndex(e => new { e.Action, e.AtUtc });
        audit.HasIndex(e => new { e.Actor, e.AtUtc });
        audit.HasIndex(e => new { e.ActorId, e.AtUtc });

        var run = builder.Entity<RunRecord>();
        run.ToTable("runs");
        run.HasKey(r => r.Id);
        run.Property(r => r.Kind).HasConversion<string>().HasMaxLength(16);
        run.Property(r => r.Status).HasConversion<string>().HasMaxLength(16);
        // Rows from before the history are all batch runs.
        run.Property(r => r.Surface).HasMaxLength(16).HasDefaultValue(RunSurfaces.Batch);
        run.Property(r => r.Backend).HasMaxLength(64);
        run.Property(r => r.Language).HasMaxLength(64);
        run.Property(r => r.Owner).HasMaxLength(256);
        run.Property(r => r.Course).HasMaxLength(256);
        run.Property(r => r.ClientKey).HasMaxLength(320);
        run.Property(r => r.Verdict).HasMaxLength(32);
        run.Property(r => r.WorkerId).HasMaxLength(256);
        run.Property(r => r.Comparison).HasMaxLength(16);
        run.Property(r => r.CallbackUrl).HasMaxLength(RunRecord.MaxCallbackUrlLength);
        run.Property(r => r.CallbackLastError).HasMaxLength(RunRecord.MaxCallbackErrorLength);
        // Queue position counts queued runs queued earlier; history lists by owner, newest first.
        run.HasIndex(r => new { r.Status, r.QueuedAtUtc });
        run.HasIndex(r => new { r.Owner, r.QueuedAtUtc });
        // A course's runs, newest first, for the runs API and the course pages. It carries the id (the tie-break of
        // the order) and every column the lists filter on, so a course's runs are counted, filtered and paged from
        // the index alone (RunPaging): at 100,000 runs a deep page or a language filter reads no table row.
        run.HasIndex(r => new { r.Course, r.QueuedAtUtc, r.Id, r.Owner, r.Language, r.Verdict, r.Surface })
            .HasDatabaseName("IX_runs_Course_QueuedAtUtc");
        run.HasIndex(r => r.QueuedAtUtc);
        // Admission counts the unfinished batch jobs, in all and of one client, at every submission. Partial
        // indexes hold only the rows such a list wants, so it costs what is waiting, not the whole history: with a
        // plain index on a column nearly every row shares (Status, CallbackPending), SQLite's statistics made
        // it scan every run instead (a fifth of the web app's CPU per job after 4,000 jobs, and growing). The
        // filters are written as EF Core writes the queries' conditions, so SQLite sees that they imply them; Kind and
        // Status lead the columns although the filter fixes them, so SQLite answers the count from the index alone.
        run.HasIndex(r => new { r.Kind, r.Status, r.ClientKey })
            .HasDatabaseName("IX_runs_UnfinishedBatch")
            .HasFilter("\"Kind\" = 'Batch' AND \"Status\" IN ('Queued', 'Running')");
        // The callback dispatcher's work list, oldest result first.
        run.HasIndex(r => r.FinishedAtUtc)
            .HasDatabaseName("IX_runs_CallbackDue")
            .HasFilter("\"CallbackPending\"");
        // The retention purge's work list: runs whose content is still kept, by end time.
        run.HasIndex(r => new { r.ContentExpiredAtUtc, r.FinishedAtUtc });

        var chunk = builder.Entity<RunTranscriptChunk>();
        chunk.ToTable("run_transcript_chunks");
        // The key is the transcript's order: the API reads a run's chunks by it, the purge deletes by run.
        chunk.HasKey(c => new { c.RunId, c.Sequence });
        chunk.Property(c => c.Stream).HasMaxLength(8);
        // No foreign key to runs: the history writer stores chunks and their run's row in whatever batches they
        // fall into, so a chunk may reach the database before its run does.
    }
}

public sealed class SqliteIrisDbContext(DbContextOptions<SqliteIrisDbContext> options) : IrisDbContext(options);

public sealed class PostgresIrisDbContext(DbContextOptions<PostgresIrisDbContext> options) : IrisDbContext(options);
