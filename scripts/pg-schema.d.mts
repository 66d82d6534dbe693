/** Types of scripts/pg-schema.mjs (the PostgreSQL twin schema's derivation). */
export declare const SQLITE_SCHEMA: string;
export declare const PG_SCHEMA: string;
/** The PostgreSQL schema text for a SQLite schema text (throws if the expected lines are missing). */
export declare function derivePgSchema(text: string): string;
