using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RunContentRetention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "ContentExpiredAtUtc",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_runs_ContentExpiredAtUtc_FinishedAtUtc",
                table: "runs",
                columns: new[] { "ContentExpiredAtUtc", "FinishedAtUtc" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_ContentExpiredAtUtc_FinishedAtUtc",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "ContentExpiredAtUtc",
                table: "runs");
        }
    }
}
