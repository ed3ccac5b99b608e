using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RunHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Backend",
                table: "runs",
                type: "character varying(64)",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Surface",
                table: "runs",
                type: "character varying(16)",
                maxLength: 16,
                nullable: false,
                defaultValue: "batch");

            migrationBuilder.AddColumn<bool>(
                name: "TranscriptIncomplete",
                table: "runs",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<bool>(
                name: "TranscriptTruncated",
                table: "runs",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "HistoryRetentionDays",
                table: "courses",
                type: "integer",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "run_transcript_chunks",
                columns: table => new
                {
                    RunId = table.Column<Guid>(type: "uuid", nullable: false),
                    Sequence = table.Column<int>(type: "integer", nullable: false),
                    TimeMs = table.Column<long>(type: "bigint", nullable: false),
                    Stream = table.Column<string>(type: "character varying(8)", maxLength: 8, nullable: false),
                    Data = table.Column<string>(type: "text", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_run_transcript_chunks", x => new { x.RunId, x.Sequence });
                });

            migrationBuilder.CreateIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs",
                columns: new[] { "Course", "QueuedAtUtc" });

            migrationBuilder.CreateIndex(
                name: "IX_runs_QueuedAtUtc",
                table: "runs",
                column: "QueuedAtUtc");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "run_transcript_chunks");

            migrationBuilder.DropIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs");

            migrationBuilder.DropIndex(
                name: "IX_runs_QueuedAtUtc",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "Backend",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "Surface",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TranscriptIncomplete",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "TranscriptTruncated",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "HistoryRetentionDays",
                table: "courses");
        }
    }
}
