import mysql from "mysql2";

const pool = mysql.createPool({ uri: "mysql://root@127.0.0.1:3306/test", connectionLimit: 2 }).promise();
const T = "kx_gcbench";
const NOW = 2_000_000_000_000;
async function fill() {
  await pool.query(`drop table if exists ${T}`);
  await pool.query(
    `create table ${T} (sid varbinary(1020) not null primary key, data mediumtext character set utf8mb4 null, expires bigint not null, owner varbinary(1020) null, created bigint null, active bigint null, key ${T}_expires_idx (expires), key ${T}_owner_idx (owner)) engine=InnoDB`,
  );
  const payload = JSON.stringify({ cookie: { expires: null }, user: "x".repeat(200) });
  const rows = [];
  for (let i = 0; i < 110_000; i++) {
    const expired = i % 11 !== 0;
    rows.push([
      `sid-${(i * 7919) % 1000003}-${i}`,
      payload,
      expired ? NOW - 1 - (i % 5000) * 1000 : NOW + 3600_000,
      i % 3 ? `owner-${i % 5000}` : null,
      NOW - 7200_000,
      NOW - 7200_000,
    ]);
  }
  for (let i = 0; i < rows.length; i += 5000)
    await pool.query(`insert into ${T} (sid, data, expires, owner, created, active) values ?`, [
      rows.slice(i, i + 5000),
    ]);
  await pool.query(`analyze table ${T}`);
  // wait for purge
  for (let k = 0; k < 60; k++) {
    const [r] = await pool.query(
      "select count from information_schema.innodb_metrics where name = 'trx_rseg_history_len'",
    );
    if (Number(r[0].count) < 50) break;
    await new Promise((res) => setTimeout(res, 500));
  }
}
const plans = {
  plain: async (n) => {
    let t = 0;
    for (;;) {
      const [r] = await pool.execute(`delete from ${T} where expires <= ? limit ${n}`, [NOW]);
      t += r.affectedRows;
      if (r.affectedRows < n) return t;
    }
  },
  explainu: async () => {
    console.log((await pool.query(`explain delete from ${T} where expires <= ${NOW}`))[0]);
    console.log(
      (await pool.query(`explain select sid from ${T} where expires <= ${NOW} order by expires, sid limit 9999,1`))[0],
    );
    return 0;
  },
  explain: async (n) => {
    console.log((await pool.query(`explain delete from ${T} where expires <= ${NOW} limit ${n}`))[0]);
    console.log((await pool.query(`explain delete from ${T} where expires <= ${NOW} order by expires limit ${n}`))[0]);
    return 0;
  },
  unbounded: async () => (await pool.execute(`delete from ${T} where expires <= ?`, [NOW]))[0].affectedRows,
  naive: async (n) => {
    let t = 0;
    for (;;) {
      const [r] = await pool.execute(`delete from ${T} where expires <= ? order by expires limit ${n}`, [NOW]);
      t += r.affectedRows;
      if (r.affectedRows < n) return t;
    }
  },
  range: async (n) => {
    let t = 0;
    for (;;) {
      const [b] = await pool.execute(
        `select expires as e, sid as s from ${T} where expires <= ? order by expires, sid limit ${n - 1}, 1`,
        [NOW],
      );
      let r;
      if (b.length === 0)
        [r] = await pool.execute(`delete from ${T} where expires <= ? order by expires, sid limit ${n}`, [NOW]);
      else
        [r] = await pool.execute(
          `delete from ${T} where expires <= ? and (expires < ? or (expires = ? and sid <= ?)) order by expires, sid limit ${n}`,
          [NOW, b[0].e, b[0].e, b[0].s],
        );
      t += r.affectedRows;
      if (r.affectedRows < n) return t;
    }
  },
  rangeNoOrder: async (n) => {
    let t = 0;
    for (;;) {
      const [b] = await pool.execute(
        `select expires as e, sid as s from ${T} where expires <= ? order by expires, sid limit ${n - 1}, 1`,
        [NOW],
      );
      let r;
      if (b.length === 0) [r] = await pool.execute(`delete from ${T} where expires <= ? limit ${n}`, [NOW]);
      else
        [r] = await pool.execute(
          `delete from ${T} where expires <= ? and (expires < ? or (expires = ? and sid <= ?)) limit ${n}`,
          [NOW, b[0].e, b[0].e, b[0].s],
        );
      t += r.affectedRows;
      if (r.affectedRows < n) return t;
    }
  },
  ids: async (n) => {
    let t = 0;
    for (;;) {
      const [b] = await pool.execute(`select sid as s from ${T} where expires <= ? order by expires limit ${n}`, [NOW]);
      if (b.length === 0) return t;
      const [r] = await pool.query(`delete from ${T} where sid in (?) and expires <= ?`, [b.map((x) => x.s), NOW]);
      t += r.affectedRows;
      if (b.length < n) return t;
    }
  },
};
const which = process.argv.slice(2);
for (const spec of which) {
  const [name, n] = spec.split(":");
  await fill();
  const t0 = performance.now();
  const deleted = await plans[name](Number(n));
  const ms = performance.now() - t0;
  console.log(spec, deleted, Math.round(ms), "ms", Math.round((deleted / ms) * 1000), "rows/s");
}
await pool.query(`drop table if exists ${T}`);
await pool.end();
