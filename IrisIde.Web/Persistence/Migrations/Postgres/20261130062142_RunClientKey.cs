using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class RunClientKey : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "ClientKey",
                table: "runs",
                type: "character varying(320)",
                maxLength: 320,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_runs_ClientKey_Status",
                table: "runs",
                columns: new[] { "ClientKey", "Status" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_runs_ClientKey_Status",
                table: "runs");

            migrationBuilder.DropColumn(
                name: "ClientKey",
                table: "runs");
        }
    }
}
