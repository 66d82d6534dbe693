-- CreateTable
CREATE TABLE "Design" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "seed" INTEGER NOT NULL,
    "gridIndex" INTEGER NOT NULL,
    "latent" BLOB NOT NULL,
    "checkpointVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'shoe',
    "parentId" INTEGER,
    "guildId" TEXT,
    "channelId" TEXT NOT NULL,
    "messageId" TEXT,
    "requesterId" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- CreateTable
CREATE TABLE "Vote" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "userId" TEXT NOT NULL,
    "designId" INTEGER NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Vote_designId_fkey" FOREIGN KEY ("designId") REFERENCES "Design" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "version" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "step" INTEGER NOT NULL,
    "kid" REAL,
    "fid" REAL,
    "sneakerShare" REAL,
    "status" TEXT NOT NULL DEFAULT 'candidate',
    "note" TEXT
);

-- CreateTable
CREATE TABLE "TrainingRun" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "startedAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" DATETIME,
    "status" TEXT NOT NULL DEFAULT 'running',
    "trigger" TEXT NOT NULL DEFAULT 'cron',
    "startStep" INTEGER NOT NULL DEFAULT 0,
    "steps" INTEGER NOT NULL DEFAULT 0,
    "lossD" REAL,
    "lossG" REAL,
    "freezeCount" INTEGER NOT NULL DEFAULT 0,
    "imagesPerSecond" REAL,
    "checkpointVersion" TEXT,
    "error" TEXT
);

-- CreateIndex
CREATE INDEX "Design_messageId_idx" ON "Design"("messageId");

-- CreateIndex
CREATE INDEX "Design_guildId_createdAt_idx" ON "Design"("guildId", "createdAt");

-- CreateIndex
CREATE INDEX "Vote_designId_idx" ON "Vote"("designId");

-- CreateIndex
CREATE UNIQUE INDEX "Vote_userId_designId_key" ON "Vote"("userId", "designId");

-- CreateIndex
CREATE UNIQUE INDEX "Checkpoint_version_key" ON "Checkpoint"("version");
