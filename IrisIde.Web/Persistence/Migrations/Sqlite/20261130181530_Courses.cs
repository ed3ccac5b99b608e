using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace IrisIde.Web.Persistence.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Courses : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<Guid>(
                name: "CourseId",
                table: "access_tokens",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "courses",
                columns: table => new
                {
                    Id = table.Column<Guid>(type: "TEXT", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    Code = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Term = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    JoinCode = table.Column<string>(type: "TEXT", maxLength: 14, nullable: false),
                    CreatedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false),
                    ArchivedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Languages = table.Column<string>(type: "TEXT", maxLength: 1024, nullable: true),
                    WallSeconds = table.Column<double>(type: "REAL", nullable: true),
                    CpuSeconds = table.Column<double>(type: "REAL", nullable: true),
                    MemoryBytes = table.Column<long>(type: "INTEGER", nullable: true),
                    RunsPerMinutePerUser = table.Column<int>(type: "INTEGER", nullable: true),
                    MaxSessionsPerUser = table.Column<int>(type: "INTEGER", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_courses", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "course_members",
                columns: table => new
                {
                    CourseId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserId = table.Column<string>(type: "TEXT", nullable: false),
                    Role = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    JoinedAtUtc = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_course_members", x => new { x.CourseId, x.UserId });
                    table.ForeignKey(
                        name: "FK_course_members_courses_CourseId",
                        column: x => x.CourseId,
                        principalTable: "courses",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_course_members_users_UserId",
                        column: x => x.UserId,
                        principalTable: "users",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_access_tokens_CourseId",
                table: "access_tokens",
                column: "CourseId");

            migrationBuilder.CreateIndex(
                name: "IX_course_members_UserId",
                table: "course_members",
                column: "UserId");

            migrationBuilder.CreateIndex(
                name: "IX_courses_JoinCode",
                table: "courses",
                column: "JoinCode",
                unique: true);

            migrationBuilder.AddForeignKey(
                name: "FK_access_tokens_courses_CourseId",
                table: "access_tokens",
                column: "CourseId",
                principalTable: "courses",
                principalColumn: "Id",
                onDelete: ReferentialAction.Cascade);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropForeignKey(
                name: "FK_access_tokens_courses_CourseId",
                table: "access_tokens");

            migrationBuilder.DropTable(
                name: "course_members");

            migrationBuilder.DropTable(
                name: "courses");

            migrationBuilder.DropIndex(
                name: "IX_access_tokens_CourseId",
                table: "access_tokens");

            migrationBuilder.DropColumn(
                name: "CourseId",
                table: "access_tokens");
        }
    }
}
