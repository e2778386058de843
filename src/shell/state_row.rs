//! How both Durable Objects store their state: one JSON document in one SQLite row
//! (`k = 1`) of their own table. Synchronous, so a decision and its write never have an
//! `await` between them.

use worker::{Result, SqlCursor, SqlStorage};

/// The stored document, if any; creates the table on first use.
pub fn load(sql: &SqlStorage, table: &'static str) -> Result<Option<String>> {
    sql.exec(&format!("CREATE TABLE IF NOT EXISTS {table} (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)"), None)?;
    #[derive(serde::Deserialize)]
    struct Row {
        state: String,
    }
    let rows: Vec<Row> = sql.exec(&format!("SELECT state FROM {table} WHERE k = 1"), None)?.to_array()?;
    Ok(rows.into_iter().next().map(|row| row.state))
}

/// Replaces the stored document.
pub fn save(sql: &SqlStorage, table: &'static str, state: String) -> Result<SqlCursor> {
    sql.exec(&format!("INSERT OR REPLACE INTO {table} (k, state) VALUES (1, ?)"), vec![state.into()])
}
