-- Exported by `gimbal export-migrations`; edit the source, not this file.
-- source: sql/V14__message_indexes.sql

-- one index fewer on each message table. every write of a message row (materialise, claim,
-- record, webhooks) inserts an entry into each of the table's indexes, so each index costs
-- on the sending path.
--
-- the one-message-per-contact-per-campaign rule moves to a unique index led by contact_id,
-- which also serves what the plain contact_id index served (the lookups of the foreign key's
-- `on delete set null` when a contact is deleted). without a predicate it is the same rule:
-- a unique index treats nulls as distinct, so transactional messages (no campaign) and
-- messages whose contact was deleted never conflict.
create unique index email_messages_contact_campaign_key
  on public.email_messages (contact_id, campaign_id);
drop index public.email_messages_campaign_contact_key;
drop index public.email_messages_contact_id_idx;

create unique index sms_messages_contact_campaign_key
  on public.sms_messages (contact_id, campaign_id);
drop index public.sms_messages_campaign_contact_key;
drop index public.sms_messages_contact_id_idx;
