//! How both Durable Objects store their state: one JSON document in one SQLite row
//! (`k = 1`) of their own table. Synchronous, so a decision and its write never have an
//! `await` between them.
//!
//! A read never creates storage: the table is made by the first write. An ended family's
//! cookie can still reach its object after the alarm deleted everything, and a read that
//! created the table would leave storage that no alarm will ever delete.

use std::cell::Cell;
use std::rc::Rc;

use worker::js_sys::{Function, Reflect};
use worker::wasm_bindgen::closure::Closure;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::{Result, SqlCursor, SqlStorage};

/// The stored document, if any. Writes nothing.
pub(crate) fn load(sql: &SqlStorage, table: &'static str) -> Result<Option<String>> {
    #[derive(serde::Deserialize)]
    struct Name {
        #[allow(dead_code)]
        name: String,
    }
    let exists = "SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?";
    if sql.exec(exists, vec![table.into()])?.to_array::<Name>()?.is_empty() {
        return Ok(None);
    }
    #[derive(serde::Deserialize)]
    struct Row {
        state: String,
    }
    let rows: Vec<Row> = sql.exec(&format!("SELECT state FROM {table} WHERE k = 1"), None)?.to_array()?;
    Ok(rows.into_iter().next().map(|row| row.state))
}

/// Replaces the stored document, creating the table on the first write.
pub(crate) fn save(sql: &SqlStorage, table: &'static str, state: String) -> Result<SqlCursor> {
    sql.exec(
        &format!("CREATE TABLE IF NOT EXISTS {table} (k INTEGER PRIMARY KEY CHECK (k = 1), state TEXT NOT NULL)"),
        None,
    )?;
    sql.exec(&format!("INSERT OR REPLACE INTO {table} (k, state) VALUES (1, ?)"), vec![state.into()])
}

/// Drops the table and its document: this part of the object's state is over, the rest
/// stays.
pub(crate) fn drop_table(sql: &SqlStorage, table: &'static str) -> Result<()> {
    sql.exec(&format!("DROP TABLE IF EXISTS {table}"), None).map(|_| ())
}

/// Writes `rows` (table, document) in one `storage.transactionSync`: all of them, or, if
/// one fails, none. A decision and the event that reports it are never apart. `fail`
/// (`EDGE_DEBUG=1` fault injection) throws after the writes, to prove the rollback.
/// `storage` is the object's JavaScript `ctx.storage`. Returns the rows written.
pub(crate) fn save_together(
    storage: &JsValue,
    sql: &SqlStorage,
    rows: Vec<(&'static str, String)>,
    fail: bool,
) -> Result<u32> {
    let transaction = Reflect::get(storage, &JsValue::from_str("transactionSync"))?
        .dyn_into::<Function>()
        .map_err(|_| worker::Error::RustError("storage.transactionSync is missing".into()))?;
    let (sql, written) = (sql.clone(), Rc::new(Cell::new(0u32)));
    let counted = Rc::clone(&written);
    let body = Closure::once(move || -> std::result::Result<JsValue, JsValue> {
        for (table, row) in rows {
            let cursor = save(&sql, table, row).map_err(|e| JsValue::from_str(&e.to_string()))?;
            counted.set(counted.get() + cursor.rows_written() as u32);
        }
        if fail {
            return Err(JsValue::from_str("injected fault: persist_error"));
        }
        Ok(JsValue::UNDEFINED)
    });
    transaction.call1(storage, body.as_ref().unchecked_ref()).map_err(|e| worker::Error::JsError(format!("{e:?}")))?;
    Ok(written.get())
}
