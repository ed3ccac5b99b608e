using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class InitialRuns : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "runs",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Owner = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    Course = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    Language = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    FilesJson = table.Column<string>(type: "TEXT", nullable: false),
                    Stdin = table.Column<string>(type: "TEXT", nullable: true),
                    LimitsJson = table.Column<string>(type: "TEXT", nullable: false),
                    QueuedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StartedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    CompileOutput = table.Column<string>(type: "TEXT", nullable: true),
                    Stdout = table.Column<string>(type: "TEXT", nullable: true),
                    Stderr = table.Column<string>(type: "TEXT", nullable: true),
                    ExitCode = table.Column<int>(type: "INTEGER", nullable: true),
                    Signal = table.Column<int>(type: "INTEGER", nullable: true),
                    Verdict = table.Column<string>(type: "TEXT", maxLength: 32, nullable: true),
                    WallMs = table.Column<long>(type: "INTEGER", nullable: true),
                    CpuMs = table.Column<long>(type: "INTEGER", nullable: true),
                    PeakMemoryBytes = table.Column<long>(type: "INTEGER", nullable: true),
                    WorkerId = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true),
                    FailureReason = table.Column<string>(type: "TEXT", nullable: true),
                    TestCasesJson = table.Column<string>(type: "TEXT", nullable: true),
                    Comparison = table.Column<string>(type: "TEXT", maxLength: 16, nullable: true),
                    TestResultsJson = table.Column<string>(type: "TEXT", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_runs", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_runs_Owner_QueuedAtUtc",
                table: "runs",
                columns: new[] { "Owner", "QueuedAtUtc" });

            migrationBuilder.CreateIndex(
                name: "IX_runs_Status_QueuedAtUtc",
                table: "runs",
                columns: new[] { "Status", "QueuedAtUtc" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "runs");
        }
    }
}
