using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CourseRunsCoveringIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs");

            migrationBuilder.CreateIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs",
                columns: new[] { "Course", "QueuedAtUtc", "Id", "Owner", "Language", "Verdict", "Surface" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs");

            migrationBuilder.CreateIndex(
                name: "IX_runs_Course_QueuedAtUtc",
                table: "runs",
                columns: new[] { "Course", "QueuedAtUtc" });
        }
    }
}
