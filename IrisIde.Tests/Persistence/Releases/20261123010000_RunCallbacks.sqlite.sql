-- The schema a database created by the release before generated migrations has (hand-written
-- migrations up to 20261123010000_RunCallbacks, EF Core 10.0.14): scripted from those migrations with
-- `dotnet ef migrations script`, kept so MigrationTests can upgrade such a database.
CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" TEXT NOT NULL CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY,
    "ProductVersion" TEXT NOT NULL
);

BEGIN TRANSACTION;
CREATE TABLE "runs" (
    "Id" TEXT NOT NULL CONSTRAINT "PK_runs" PRIMARY KEY,
    "Owner" TEXT NULL,
    "Course" TEXT NULL,
    "Kind" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Language" TEXT NOT NULL,
    "FilesJson" TEXT NOT NULL,
    "Stdin" TEXT NULL,
    "LimitsJson" TEXT NOT NULL,
    "QueuedAtUtc" TEXT NOT NULL,
    "StartedAtUtc" TEXT NULL,
    "FinishedAtUtc" TEXT NULL,
    "CompileOutput" TEXT NULL,
    "Stdout" TEXT NULL,
    "Stderr" TEXT NULL,
    "ExitCode" INTEGER NULL,
    "Signal" INTEGER NULL,
    "Verdict" TEXT NULL,
    "WallMs" INTEGER NULL,
    "CpuMs" INTEGER NULL,
    "PeakMemoryBytes" INTEGER NULL,
    "WorkerId" TEXT NULL,
    "FailureReason" TEXT NULL,
    "TestCasesJson" TEXT NULL,
    "Comparison" TEXT NULL,
    "TestResultsJson" TEXT NULL
);

CREATE INDEX "IX_runs_Status_QueuedAtUtc" ON "runs" ("Status", "QueuedAtUtc");

CREATE INDEX "IX_runs_Owner_QueuedAtUtc" ON "runs" ("Owner", "QueuedAtUtc");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261122010000_InitialRuns', '10.0.14');

COMMIT;

BEGIN TRANSACTION;
ALTER TABLE "runs" ADD "CallbackUrl" TEXT NULL;

ALTER TABLE "runs" ADD "CallbackPending" INTEGER NOT NULL DEFAULT 0;

ALTER TABLE "runs" ADD "CallbackAttempts" INTEGER NOT NULL DEFAULT 0;

ALTER TABLE "runs" ADD "CallbackLastAttemptAtUtc" TEXT NULL;

ALTER TABLE "runs" ADD "CallbackDeliveredAtUtc" TEXT NULL;

ALTER TABLE "runs" ADD "CallbackLastError" TEXT NULL;

CREATE INDEX "IX_runs_CallbackPending" ON "runs" ("CallbackPending");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261123010000_RunCallbacks', '10.0.14');

COMMIT;
