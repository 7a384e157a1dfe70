-- definitions-snapshot.sql - what test 0108 compares between two databases: every function of
-- the axiom schemas (its text, owner and privileges) and every function whose privileges were
-- changed, every policy, trigger (and its enabled state), relation (owner, RLS, privileges,
-- column privileges), schema, and default privileges. One line per object, sorted.
-- functions
SELECT 'function', p.oid::regprocedure::text, pg_get_userbyid(p.proowner), pg_get_functiondef(p.oid),
  (SELECT string_agg(pg_get_userbyid(a.grantee) || ':' || a.privilege_type || ':' || pg_get_userbyid(a.grantor), ',' ORDER BY pg_get_userbyid(a.grantee) || ':' || a.privilege_type || ':' || pg_get_userbyid(a.grantor)) FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname IN ('axiom', 'axiom_api') OR p.proacl IS NOT NULL
UNION ALL
SELECT 'policy', schemaname || '.' || tablename || '.' || policyname, permissive || ' ' || cmd || ' ' || roles::text, coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies
UNION ALL
SELECT 'trigger', c.oid::regclass::text || '.' || t.tgname, t.tgenabled::text, pg_get_triggerdef(t.oid), '' FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'relation', c.oid::regclass::text, pg_get_userbyid(c.relowner) || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity,
  (SELECT coalesce(string_agg(pg_get_userbyid(a.grantee) || ':' || a.privilege_type || ':' || pg_get_userbyid(a.grantor), ',' ORDER BY pg_get_userbyid(a.grantee) || ':' || a.privilege_type || ':' || pg_get_userbyid(a.grantor)), '') FROM aclexplode(coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, c.relowner))) a),
  (SELECT coalesce(string_agg(x.attname || '/' || pg_get_userbyid(y.grantee) || ':' || y.privilege_type, ',' ORDER BY x.attname || '/' || pg_get_userbyid(y.grantee) || ':' || y.privilege_type), '') FROM pg_attribute x, aclexplode(x.attacl) y WHERE x.attrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname LIKE 'axiom%' AND c.relkind IN ('r', 'S', 'v', 'm', 'p')
UNION ALL
SELECT 'schema', n.nspname, pg_get_userbyid(n.nspowner), (SELECT coalesce(string_agg(pg_get_userbyid(a.grantee) || ':' || a.privilege_type, ',' ORDER BY pg_get_userbyid(a.grantee) || ':' || a.privilege_type), '') FROM aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a), ''
FROM pg_namespace n WHERE n.nspname LIKE 'axiom%' OR n.nspname = 'public'
UNION ALL
SELECT 'default acl', pg_get_userbyid(d.defaclrole) || ' ' || d.defaclobjtype::text, coalesce(d.defaclnamespace::regnamespace::text, ''), (SELECT string_agg(pg_get_userbyid(a.grantee) || ':' || a.privilege_type, ',' ORDER BY pg_get_userbyid(a.grantee) || ':' || a.privilege_type) FROM aclexplode(d.defaclacl) a), ''
FROM pg_default_acl d
ORDER BY 1, 2;
