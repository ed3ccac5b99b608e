-- The schema a database created by the release before generated migrations has (hand-written
-- migrations up to 20261123010000_RunCallbacks, EF Core 10.0.14): scripted from those migrations with
-- `dotnet ef migrations script`, kept so MigrationTests can upgrade such a database.
CREATE TABLE IF NOT EXISTS "__EFMigrationsHistory" (
    "MigrationId" character varying(150) NOT NULL,
    "ProductVersion" character varying(32) NOT NULL,
    CONSTRAINT "PK___EFMigrationsHistory" PRIMARY KEY ("MigrationId")
);

START TRANSACTION;
CREATE TABLE runs (
    "Id" uuid NOT NULL,
    "Owner" character varying(256),
    "Course" character varying(256),
    "Kind" character varying(16) NOT NULL,
    "Status" character varying(16) NOT NULL,
    "Language" character varying(64) NOT NULL,
    "FilesJson" text NOT NULL,
    "Stdin" text,
    "LimitsJson" text NOT NULL,
    "QueuedAtUtc" timestamp with time zone NOT NULL,
    "StartedAtUtc" timestamp with time zone,
    "FinishedAtUtc" timestamp with time zone,
    "CompileOutput" text,
    "Stdout" text,
    "Stderr" text,
    "ExitCode" integer,
    "Signal" integer,
    "Verdict" character varying(32),
    "WallMs" bigint,
    "CpuMs" bigint,
    "PeakMemoryBytes" bigint,
    "WorkerId" character varying(256),
    "FailureReason" text,
    "TestCasesJson" text,
    "Comparison" character varying(16),
    "TestResultsJson" text,
    CONSTRAINT "PK_runs" PRIMARY KEY ("Id")
);

CREATE INDEX "IX_runs_Status_QueuedAtUtc" ON runs ("Status", "QueuedAtUtc");

CREATE INDEX "IX_runs_Owner_QueuedAtUtc" ON runs ("Owner", "QueuedAtUtc");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261122010000_InitialRuns', '10.0.14');

COMMIT;

START TRANSACTION;
ALTER TABLE runs ADD "CallbackUrl" character varying(2048);

ALTER TABLE runs ADD "CallbackPending" boolean NOT NULL DEFAULT FALSE;

ALTER TABLE runs ADD "CallbackAttempts" integer NOT NULL DEFAULT 0;

ALTER TABLE runs ADD "CallbackLastAttemptAtUtc" timestamp with time zone;

ALTER TABLE runs ADD "CallbackDeliveredAtUtc" timestamp with time zone;

ALTER TABLE runs ADD "CallbackLastError" character varying(1024);

CREATE INDEX "IX_runs_CallbackPending" ON runs ("CallbackPending");

INSERT INTO "__EFMigrationsHistory" ("MigrationId", "ProductVersion")
VALUES ('20261123010000_RunCallbacks', '10.0.14');

COMMIT;
