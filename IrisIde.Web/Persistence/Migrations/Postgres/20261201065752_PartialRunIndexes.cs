using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class PartialRunIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_CallbackPending",
                table: "runs");

            migrationBuilder.DropIndex(
                name: "IX_runs_ClientKey_Status",
                table: "runs");

            migrationBuilder.CreateIndex(
                name: "IX_runs_CallbackDue",
                table: "runs",
                column: "FinishedAtUtc",
                filter: "\"CallbackPending\"");

            migrationBuilder.CreateIndex(
                name: "IX_runs_UnfinishedBatch",
                table: "runs",
                columns: new[] { "Kind", "Status", "ClientKey" },
                filter: "\"Kind\" = 'Batch' AND \"Status\" IN ('Queued', 'Running')");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_CallbackDue",
                table: "runs");

            migrationBuilder.DropIndex(
                name: "IX_runs_UnfinishedBatch",
                table: "runs");

            migrationBuilder.CreateIndex(
                name: "IX_runs_CallbackPending",
                table: "runs",
                column: "CallbackPending");

            migrationBuilder.CreateIndex(
                name: "IX_runs_ClientKey_Status",
                table: "runs",
                columns: new[] { "ClientKey", "Status" });
        }
    }
}
