-- A catalog written by parley at schema version 4 (main at f7563e0): 'parley demo', then
-- 'parley --as retailer table add -c campaign regions --source home/demo-data/regions.csv'.
-- Dumped with sqlite3 .dump; audit head of campaign: 99667c0c9f7e2a4e55a87305f65354dcc797ff851dfa0c5350e595b52065ca5c
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE collaborations (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  creator TEXT NOT NULL,
  query_logging INTEGER NOT NULL CHECK (query_logging IN (0, 1)),
  created_at INTEGER NOT NULL
) STRICT;
INSERT INTO collaborations VALUES(1,'campaign','joint ad campaign: shared households by segment','retailer',0,1795946737);
CREATE TABLE members (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  can_query INTEGER NOT NULL CHECK (can_query IN (0, 1)),
  can_receive INTEGER NOT NULL CHECK (can_receive IN (0, 1)),
  status TEXT NOT NULL CHECK (status IN ('invited', 'active', 'left', 'removed')),
  UNIQUE (collaboration_id, name)
) STRICT;
INSERT INTO members VALUES(1,1,'retailer',0,0,'active');
INSERT INTO members VALUES(2,1,'supplier',1,1,'active');
CREATE TABLE tables (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  name TEXT NOT NULL,
  owner TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('csv', 'parquet')),
  location TEXT NOT NULL,
  source_schema TEXT NOT NULL,
  allowed_columns TEXT NOT NULL,
  rule_json TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, name),
  FOREIGN KEY (collaboration_id, owner) REFERENCES members (collaboration_id, name)
) STRICT;
INSERT INTO tables VALUES(1,1,'retail','retailer','parquet','/tmp/v4home/home/demo-data/retail.parquet','[{"name":"household_id","type":"BIGINT"},{"name":"hashed_email","type":"VARCHAR"},{"name":"age_band","type":"VARCHAR"},{"name":"income_bracket","type":"VARCHAR"},{"name":"household_size","type":"INTEGER"},{"name":"region","type":"VARCHAR"},{"name":"annual_spend","type":"DOUBLE"},{"name":"online_spend","type":"DOUBLE"}]','["household_id","hashed_email","age_band","income_bracket","household_size","region","annual_spend","online_spend"]','{"aggregate_columns":[{"columns":["annual_spend"],"functions":["AVG","SUM"]},{"columns":["household_id"],"functions":["COUNT_DISTINCT"]},{"columns":["online_spend"],"functions":["AVG","SUM"]}],"allowed_join_operators":["AND"],"dimension_columns":["age_band","household_size","income_bracket","region"],"join_columns":["hashed_email"],"join_required":"query_runner","kind":"aggregation","output_constraints":[{"column":"household_id","minimum":100,"type":"count_distinct"}],"scalar_functions":["ROUND"]}',1795946737);
INSERT INTO tables VALUES(2,1,'loyalty','supplier','parquet','/tmp/v4home/home/demo-data/loyalty.parquet','[{"name":"hashed_email","type":"VARCHAR"},{"name":"loyalty_tier","type":"VARCHAR"},{"name":"brand_purchases","type":"INTEGER"}]','["hashed_email","loyalty_tier","brand_purchases"]','{"aggregate_columns":[{"columns":["brand_purchases"],"functions":["AVG","SUM"]},{"columns":["hashed_email"],"functions":["COUNT_DISTINCT"]}],"allowed_join_operators":["AND"],"dimension_columns":["loyalty_tier"],"join_columns":["hashed_email"],"kind":"aggregation","output_constraints":[{"column":"hashed_email","minimum":100,"type":"count_distinct"}],"scalar_functions":["ROUND"]}',1795946737);
INSERT INTO tables VALUES(3,1,'regions','retailer','csv','/tmp/v4home/home/demo-data/regions.csv','[{"name":"household_id","type":"BIGINT"},{"name":"region","type":"VARCHAR"}]','["household_id","region"]',NULL,1795946751);
CREATE TABLE templates (
  id INTEGER PRIMARY KEY,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  template_id TEXT NOT NULL,
  name TEXT NOT NULL,
  author TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  parameters_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (collaboration_id, template_id),
  FOREIGN KEY (collaboration_id, author) REFERENCES members (collaboration_id, name)
) STRICT;
CREATE TABLE audit_heads (
  collaboration TEXT PRIMARY KEY,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
INSERT INTO audit_heads VALUES('campaign',18,'99667c0c9f7e2a4e55a87305f65354dcc797ff851dfa0c5350e595b52065ca5c');
CREATE TABLE IF NOT EXISTS "queries" (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collaboration_id INTEGER NOT NULL REFERENCES collaborations (id),
  runner TEXT NOT NULL,
  sql_text TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('rejected', 'running', 'succeeded', 'failed',
                                         'cancelled', 'killed')),
  verdict_json TEXT NOT NULL,
  rendered_sql TEXT NOT NULL,
  receivers TEXT NOT NULL,
  table_names TEXT NOT NULL,
  result_path TEXT NOT NULL,
  row_count INTEGER NOT NULL,
  error TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  template_id TEXT NOT NULL DEFAULT '',
  run_lock TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (collaboration_id, runner) REFERENCES members (collaboration_id, name)
) STRICT;
INSERT INTO queries VALUES(1,1,'supplier',replace('SELECT r.age_band, r.income_bracket, r.household_size,\n       COUNT(DISTINCT r.household_id) AS households\nFROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\nGROUP BY r.age_band, r.income_bracket, r.household_size\nORDER BY households DESC','\n',char(10)),'succeeded','','SELECT "t2"."g0" AS "age_band", "t2"."g1" AS "income_bracket", "t2"."g2" AS "household_size", "t2"."a0" AS "households" FROM (SELECT "t0"."age_band" AS "g0", "t0"."income_bracket" AS "g1", "t0"."household_size" AS "g2", count(DISTINCT "t0"."household_id") AS "a0" FROM "retail" AS "t0" INNER JOIN "loyalty" AS "t1" ON ("t0"."hashed_email" = "t1"."hashed_email") GROUP BY "t0"."age_band", "t0"."income_bracket", "t0"."household_size" HAVING ((count(DISTINCT "t0"."household_id") >= 100) AND (count(DISTINCT "t1"."hashed_email") >= 100)) OFFSET 0) AS "t2" ORDER BY "t2"."a0" DESC NULLS FIRST','["supplier"]','["retail","loyalty"]','/tmp/v4home/home/results/campaign/result-1795946741407435084-46fd8f97.json',120,'',1795946737,'','');
INSERT INTO queries VALUES(2,1,'supplier',replace('SELECT COUNT(DISTINCT r.household_id) AS households\nFROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email','\n',char(10)),'succeeded','','SELECT "t2"."a0" AS "households" FROM (SELECT count(DISTINCT "t0"."household_id") AS "a0" FROM "retail" AS "t0" INNER JOIN "loyalty" AS "t1" ON ("t0"."hashed_email" = "t1"."hashed_email") HAVING ((count(DISTINCT "t0"."household_id") >= 100) AND (count(DISTINCT "t1"."hashed_email") >= 100)) OFFSET 0) AS "t2"','["supplier"]','["retail","loyalty"]','/tmp/v4home/home/results/campaign/result-1795946744379661081-adaa8760.json',1,'',1795946741,'','');
INSERT INTO queries VALUES(3,1,'supplier',replace('SELECT r.age_band, COUNT(DISTINCT r.household_id) AS households\nFROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\nGROUP BY r.age_band ORDER BY r.age_band','\n',char(10)),'succeeded','','SELECT "t2"."g0" AS "age_band", "t2"."a0" AS "households" FROM (SELECT "t0"."age_band" AS "g0", count(DISTINCT "t0"."household_id") AS "a0" FROM "retail" AS "t0" INNER JOIN "loyalty" AS "t1" ON ("t0"."hashed_email" = "t1"."hashed_email") GROUP BY "t0"."age_band" HAVING ((count(DISTINCT "t0"."household_id") >= 100) AND (count(DISTINCT "t1"."hashed_email") >= 100)) OFFSET 0) AS "t2" ORDER BY "t2"."g0" ASC NULLS LAST','["supplier"]','["retail","loyalty"]','/tmp/v4home/home/results/campaign/result-1795946748167801512-8b36dc1c.json',6,'',1795946744,'','');
INSERT INTO queries VALUES(4,1,'supplier',replace('SELECT r.hashed_email, r.age_band, COUNT(*)\nFROM retail r JOIN loyalty l ON r.hashed_email = l.hashed_email\nGROUP BY r.hashed_email, r.age_band','\n',char(10)),'rejected','[{"clause":"SELECT","code":"join_column_outside_join","column":"hashed_email","hint":"join columns match rows across tables; they are never returned, grouped or filtered on","message":"join column ''hashed_email'' may only be used in JOIN … ON equalities","owner":"retailer","position":"line 1, column 8","rule":"aggregation","table":"retail"},{"clause":"SELECT","code":"count_star_not_allowed","column":"","hint":"count with COUNT(DISTINCT household_id) instead","message":"COUNT(*) counts the rows of every table, and table ''retail'' allows COUNT on no column","owner":"retailer","position":"line 1, column 36","rule":"aggregation","table":"retail"},{"clause":"SELECT","code":"count_star_not_allowed","column":"","hint":"count with COUNT(DISTINCT hashed_email) instead","message":"COUNT(*) counts the rows of every table, and table ''loyalty'' allows COUNT on no column","owner":"supplier","position":"line 1, column 36","rule":"aggregation","table":"loyalty"},{"clause":"GROUP BY","code":"join_column_outside_join","column":"hashed_email","hint":"join columns match rows across tables; they are never returned, grouped or filtered on","message":"join column ''hashed_email'' may only be used in JOIN … ON equalities","owner":"retailer","position":"line 3, column 10","rule":"aggregation","table":"retail"}]','','["supplier"]','["retail","loyalty"]','',0,'',1795946748,'','');
CREATE TABLE file_claims (
  device INTEGER NOT NULL,
  inode INTEGER NOT NULL,
  owner TEXT NOT NULL,
  PRIMARY KEY (device, inode)
) STRICT;
INSERT INTO file_claims VALUES(65024,11321397,'retailer');
INSERT INTO file_claims VALUES(65024,11321438,'supplier');
INSERT INTO file_claims VALUES(65024,11321633,'retailer');
CREATE TABLE IF NOT EXISTS "audit" (
  id INTEGER PRIMARY KEY,
  collaboration TEXT NOT NULL,
  seq INTEGER NOT NULL,
  time INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  details_json TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  state_sha256 TEXT NOT NULL,
  state_parts TEXT NOT NULL,
  UNIQUE (collaboration, seq)
) STRICT;
INSERT INTO audit VALUES(1,'campaign',1,1795946737,'retailer','collaboration.create','{"creator":"retailer","members":[{"abilities":[],"name":"retailer","status":"active"}],"query_logging":false}','0000000000000000000000000000000000000000000000000000000000000000','cf2cd94bf8fbfba0d4b9707b34d5fa4bbdea934bb283210f6538e1dc18001294','af5d571256f168234d18b637b9304ac7f6d9637d7a01aba01941cf31a7e576b5','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d"},"tables":{},"templates":{}}');
INSERT INTO audit VALUES(2,'campaign',2,1795946737,'retailer','member.add','{"abilities":["query","receive"],"member":"supplier","status":"active"}','cf2cd94bf8fbfba0d4b9707b34d5fa4bbdea934bb283210f6538e1dc18001294','a7a7d9001e372841671cc1d90cc9efed8f71e7183b19ad222023cd01b9a4e87f','344342c65d110d78464c40203c84fdb84b00c0c3ea26c448f99fe39cd00d9d55','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{},"templates":{}}');
INSERT INTO audit VALUES(3,'campaign',3,1795946737,'retailer','table.add','{"allowed_columns":["household_id","hashed_email","age_band","income_bracket","household_size","region","annual_spend","online_spend"],"kind":"parquet","owner":"retailer","table":"retail"}','a7a7d9001e372841671cc1d90cc9efed8f71e7183b19ad222023cd01b9a4e87f','ace7fabb4a317e6e4874564aab8bb002bf55ab0fbd2b1ee071262bbdc1f47c67','2a10b3ad7d65ecc1ac819de8e2a8505dd19fd660bc6a8ca0403ad82001cc28fc','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"retail":"22c255b7e86c9df2f2ce05938e7181d4542e2a4c58ae7a664dfabcdd049a6519"},"templates":{}}');
INSERT INTO audit VALUES(4,'campaign',4,1795946737,'retailer','rule.set','{"rule_sha256":"08ec99a4ceb396c4985bf307247692ced7581a0ee2c5e2227f5d079e17c4afc7","table":"retail"}','ace7fabb4a317e6e4874564aab8bb002bf55ab0fbd2b1ee071262bbdc1f47c67','8054f098f945728c0370b748fc6347433366c12986cae8594c49ba1009409a63','3ec8cee481ed43752d28324e38c5cfc01337c3cf49ecbf42109323685acc784b','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(5,'campaign',5,1795946737,'supplier','table.add','{"allowed_columns":["hashed_email","loyalty_tier","brand_purchases"],"kind":"parquet","owner":"supplier","table":"loyalty"}','8054f098f945728c0370b748fc6347433366c12986cae8594c49ba1009409a63','20166e0dfbae68132925b5410f51233962c8c959b3988619506f548be81c895c','ddc7d6bce8bf0552347155663b9e8f52b0db6ed0cc95103c0dc5b318ceb19ca6','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"018d0fc6f8bfc04c4113f7465544caf395353f2113ee670078ab0774c65b1b59","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(6,'campaign',6,1795946737,'supplier','rule.set','{"rule_sha256":"d4c32dea17116976b8a2a873ffb788f913d2c3c96934a41ef92507f77924d4db","table":"loyalty"}','20166e0dfbae68132925b5410f51233962c8c959b3988619506f548be81c895c','c68d41174cf1515447ba462c07d77c0812fb73d3611bd748d84d69156721a796','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(7,'campaign',7,1795946737,'supplier','query.submitted','{"receivers":["supplier"],"sql_sha256":"0afa6d7cd72a8f0a72801cf36cc84bf31797f81850c4eaee12ae04efec51e61d"}','c68d41174cf1515447ba462c07d77c0812fb73d3611bd748d84d69156721a796','b1addf42c59b270823e3cc99a339d8fe1ec6a1577438fb36519ea6bd1c15b1e0','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(8,'campaign',8,1795946737,'supplier','query.started','{"query_id":1,"receivers":["supplier"],"tables":["retail","loyalty"]}','b1addf42c59b270823e3cc99a339d8fe1ec6a1577438fb36519ea6bd1c15b1e0','91f215517019df9bfb8b7dea35079bbf0f2c114159bac725925c4562d5fa22ee','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(9,'campaign',9,1795946741,'supplier','query.finished','{"query_id":1}','91f215517019df9bfb8b7dea35079bbf0f2c114159bac725925c4562d5fa22ee','c54e1b36696f1ab5735e20589295d13dde698cec6dac37ab6a528ce72ca92965','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(10,'campaign',10,1795946741,'supplier','query.submitted','{"receivers":["supplier"],"sql_sha256":"b48d38f3f8316369be3fca47ff9a3f9c7902f611c2c660319270d0c769b91478"}','c54e1b36696f1ab5735e20589295d13dde698cec6dac37ab6a528ce72ca92965','19be54d864bb99108c2ce2bd0a37f3793a6d2da97aa986fbc25a140aedc6e97d','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(11,'campaign',11,1795946741,'supplier','query.started','{"query_id":2,"receivers":["supplier"],"tables":["retail","loyalty"]}','19be54d864bb99108c2ce2bd0a37f3793a6d2da97aa986fbc25a140aedc6e97d','ec2855c9170ebd4cbc600652ea5f770609eebdfba0fdee792947aeb319a5bba5','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(12,'campaign',12,1795946744,'supplier','query.finished','{"query_id":2}','ec2855c9170ebd4cbc600652ea5f770609eebdfba0fdee792947aeb319a5bba5','ce444e7f0751a4596c8629ff58f6978a42254d4f59d48bce3b18e1b79bb8643e','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(13,'campaign',13,1795946744,'supplier','query.submitted','{"receivers":["supplier"],"sql_sha256":"3e645fe17325f2c522c330a169c5d18ccfdcbceac3b72fd900eb240b18e766a7"}','ce444e7f0751a4596c8629ff58f6978a42254d4f59d48bce3b18e1b79bb8643e','b8866de6aee3068d5ab707c565e450158dfbfe36b0c5414db6142935a1ba5b08','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(14,'campaign',14,1795946744,'supplier','query.started','{"query_id":3,"receivers":["supplier"],"tables":["retail","loyalty"]}','b8866de6aee3068d5ab707c565e450158dfbfe36b0c5414db6142935a1ba5b08','16872f2f2dffb4b9363aec7051d48606ab5e8a9367945c2f4a86aac4dd129720','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(15,'campaign',15,1795946748,'supplier','query.finished','{"query_id":3}','16872f2f2dffb4b9363aec7051d48606ab5e8a9367945c2f4a86aac4dd129720','e99458db6d3dea7fdbb83d5653c5a23fd7a861fcc8e5a0b840557aa5e32645aa','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(16,'campaign',16,1795946748,'supplier','query.submitted','{"receivers":["supplier"],"sql_sha256":"8c1a76684e9b8e41925645ba69d3edc9d4737777097efabc5417b5124c844b27"}','e99458db6d3dea7fdbb83d5653c5a23fd7a861fcc8e5a0b840557aa5e32645aa','14f3ad8d2229adc2a019067b680f3b7edec5f8b4e08085f59a9d20f221888673','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(17,'campaign',17,1795946748,'supplier','query.rejected','{"query_id":4,"receivers":["supplier"],"tables":["retail","loyalty"]}','14f3ad8d2229adc2a019067b680f3b7edec5f8b4e08085f59a9d20f221888673','5eb826919f7b808a536dd3eacc39daad65362dde11b25f8ab82edbaec256f756','b9b679d20209b897ca78f6ea62284224b2b1884f64c6ef980643f75e21ffd3bf','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
INSERT INTO audit VALUES(18,'campaign',18,1795946751,'retailer','table.add','{"allowed_columns":["household_id","region"],"kind":"csv","owner":"retailer","table":"regions"}','5eb826919f7b808a536dd3eacc39daad65362dde11b25f8ab82edbaec256f756','99667c0c9f7e2a4e55a87305f65354dcc797ff851dfa0c5350e595b52065ca5c','ebefb1b41af59a69694e7bf0195ad7763623d7b8f8faf81f1ebee9bbf8cdb588','{"collaboration":"8378021389462a9665d240e24f610c5655023f487ff225dfc2511f49e5547cba","members":{"retailer":"c13177775cffa60a978e36053ad9e825eb263825de06765b801103f376b7719d","supplier":"31e8ad9613b98873308617c85f77380a874ad5d1cf6b0004c74836a7a654f7db"},"tables":{"loyalty":"eb26b0a8c6ba5b7e8557881fdce833064869f17449086678b99ba36412c7fcaf","regions":"905a2fe70879bd3403eaa2d0cf9af94238c70c0524083257596f12f40e522641","retail":"ab73d6990808b472464fa0fee89ca409ba674886578490eeb408c5c051d679a6"},"templates":{}}');
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('queries',4);
CREATE INDEX queries_by_collaboration ON queries (collaboration_id, id);
CREATE INDEX queries_running ON queries (status) WHERE status = 'running';
COMMIT;
PRAGMA user_version = 4;
