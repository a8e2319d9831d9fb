-- Full-text search over each collection's searchable fields (FTS5, ranked with bm25).
-- One row per live record; kept in the same transaction as the record.
CREATE VIRTUAL TABLE `search_index` USING fts5(
  `collection` UNINDEXED,
  `record_id` UNINDEXED,
  `content`,
  tokenize = 'unicode61 remove_diacritics 2'
);
