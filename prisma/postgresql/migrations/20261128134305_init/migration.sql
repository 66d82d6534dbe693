-- CreateTable
CREATE TABLE "Design" (
    "id" SERIAL NOT NULL,
    "seed" INTEGER NOT NULL,
    "gridIndex" INTEGER NOT NULL,
    "latent" BYTEA NOT NULL,
    "checkpointVersion" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'shoe',
    "parentId" INTEGER,
    "secondParentId" INTEGER,
    "steering" DOUBLE PRECISION,
    "guildId" TEXT,
    "channelId" TEXT NOT NULL,
    "messageId" TEXT,
    "requesterId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Design_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vote" (
    "id" SERIAL NOT NULL,
    "userId" TEXT NOT NULL,
    "designId" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Vote_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Checkpoint" (
    "id" SERIAL NOT NULL,
    "version" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "step" INTEGER NOT NULL,
    "kid" DOUBLE PRECISION,
    "fid" DOUBLE PRECISION,
    "sneakerShare" DOUBLE PRECISION,
    "status" TEXT NOT NULL DEFAULT 'candidate',
    "note" TEXT,

    CONSTRAINT "Checkpoint_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainingRun" (
    "id" SERIAL NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "endedAt" TIMESTAMP(3),
    "status" TEXT NOT NULL DEFAULT 'running',
    "trigger" TEXT NOT NULL DEFAULT 'cron',
    "startStep" INTEGER NOT NULL DEFAULT 0,
    "steps" INTEGER NOT NULL DEFAULT 0,
    "lossD" DOUBLE PRECISION,
    "lossG" DOUBLE PRECISION,
    "freezeCount" INTEGER NOT NULL DEFAULT 0,
    "imagesPerSecond" DOUBLE PRECISION,
    "checkpointVersion" TEXT,
    "error" TEXT,

    CONSTRAINT "TrainingRun_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "TrainerLease" (
    "name" TEXT NOT NULL,
    "ownerId" TEXT NOT NULL,
    "ownerHost" TEXT NOT NULL,
    "heartbeatAt" TIMESTAMP(3) NOT NULL,
    "snapshot" TEXT NOT NULL DEFAULT '{}',

    CONSTRAINT "TrainerLease_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "TrainerRequest" (
    "id" SERIAL NOT NULL,
    "action" TEXT NOT NULL,
    "argument" TEXT,
    "requestedBy" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "handledAt" TIMESTAMP(3),
    "outcome" TEXT,
    "message" TEXT,

    CONSTRAINT "TrainerRequest_pkey" PRIMARY KEY ("id")
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

-- CreateIndex
CREATE INDEX "TrainerRequest_handledAt_id_idx" ON "TrainerRequest"("handledAt", "id");

-- AddForeignKey
ALTER TABLE "Vote" ADD CONSTRAINT "Vote_designId_fkey" FOREIGN KEY ("designId") REFERENCES "Design"("id") ON DELETE CASCADE ON UPDATE CASCADE;
