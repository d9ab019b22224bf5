/*
 * sql_notify.c - the shared SQL texts of sql_notify.h (status callbacks). Data only.
 */
#include "store/sql_notify.h"

#include "store/sqldrv.h"

const char sql_notify_behind[] =
    "SELECT 1 FROM notify_calls WHERE seq_key = $1 AND state = 0 LIMIT 1";

const char sql_notify_callback_of[] =
    "SELECT COALESCE(m.callback_url, s.callback), m.sender, m.receiver, m.tag, m.callback_mask, "
    "m.sent_ms, m.route, m.smsc_id, CASE WHEN m.callback_mask > 0 THEN m.message END, "
    "m.coding, m.class FROM services s JOIN messages m ON s.id = $1 AND m.id = $2 "
    "WHERE COALESCE(m.callback_url, s.callback) IS NOT NULL AND "
    "COALESCE(m.callback_url, s.callback) != ''";

const char sql_notify_insert[] =
    "INSERT INTO notify_calls(service_id, kind, message_id, event_id, seq_key, dlr, ptt, "
    "event_ms, url, origin, created_ms, next_ms, lease_ms, lease_owner, first_ms) "
    "VALUES ($1, 'status', $2, $3, $2, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12)"
    SQLDRV_RETURNING_ID;

const char sql_notify_insert_kind[] =
    "INSERT INTO notify_calls(service_id, kind, message_id, event_id, seq_key, event_ms, url, "
    "origin, created_ms, next_ms, lease_ms, lease_owner, first_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11, $12)" SQLDRV_RETURNING_ID;

const char sql_notify_secret_get[] = "SELECT secret FROM notify_secrets WHERE service_id = $1";

const char sql_notify_secret_insert[] =
    "INSERT INTO notify_secrets(service_id, secret, created_ms) VALUES ($1, $2, $3) "
    "ON CONFLICT (service_id) DO NOTHING";
