-- AlterTable
ALTER TABLE "Design" ADD COLUMN "secondParentId" INTEGER;
ALTER TABLE "Design" ADD COLUMN "steering" REAL;

-- CreateTable
CREATE TABLE "TrainerLease" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "ownerId" TEXT NOT NULL,
    "ownerHost" TEXT NOT NULL,
    "heartbeatAt" DATETIME NOT NULL,
    "snapshot" TEXT NOT NULL DEFAULT '{}'
);

-- CreateTable
CREATE TABLE "TrainerRequest" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "action" TEXT NOT NULL,
    "argument" TEXT,
    "requestedBy" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "handledAt" DATETIME,
    "outcome" TEXT,
    "message" TEXT
);

-- CreateIndex
CREATE INDEX "TrainerRequest_handledAt_id_idx" ON "TrainerRequest"("handledAt", "id");
