using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RunCallbacks : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "CallbackAttempts",
                table: "runs",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTime>(
                name: "CallbackDeliveredAtUtc",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "CallbackLastAttemptAtUtc",
                table: "runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "CallbackLastError",
                table: "runs",
                type: "character varying(1024)",
                maxLength: 1024,
                nullable: true);

            migrationBuilder.AddColumn<bool>(
                name: "CallbackPending",
                table: "runs",
                type: "boolean",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<string>(
                name: "CallbackUrl",
                table: "runs",
                type: "character varying(2048)",
                maxLength: 2048,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_runs_CallbackPending",
                table: "runs",
                column: "CallbackPending");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_CallbackPending",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackAttempts",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackDeliveredAtUtc",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackLastAttemptAtUtc",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackLastError",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackPending",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "CallbackUrl",
                table: "runs");
        }
    }
}
