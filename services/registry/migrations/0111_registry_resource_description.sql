-- ListResources searches the description too (数据内容简介), so it is kept as a column.
ALTER TABLE resources ADD COLUMN description text NOT NULL DEFAULT '';
