import journal from './meta/_journal.json';
import m0000 from './0000_foundation.sql';
import m0001 from './0001_data_plane.sql';
import m0002 from './0002_search_index.sql';
import m0003 from './0003_export_jobs.sql';
import m0004 from './0004_change_log.sql';
import m0005 from './0005_webhooks.sql';
import m0006 from './0006_access_audit_and_cost.sql';
import m0007 from './0007_sealed_objects.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005,
m0006,
m0007
    }
  }
  