#!/usr/bin/env python3
"""Lag during catch-up: produces 400k tracking events to a fresh topic (3 partitions), starts
`pulso run --brokers` on it and prints (seconds, next_offset, high_watermark, lag) from
/v1/pipeline_health until caught up. Needs confluent-kafka (build/venv-py/bin/pip install
confluent-kafka) and the broker on 127.0.0.1:9092; run from the repo root."""
import json, subprocess, sys, tempfile, time, urllib.request, signal
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
prefix=f"lag{int(time.time())}."
admin=AdminClient({"bootstrap.servers":"127.0.0.1:9092"})
for f in admin.create_topics([NewTopic(prefix+"tracking.events",3)]).values(): f.result()
p=Producer({"bootstrap.servers":"127.0.0.1:9092","linger.ms":20})
N=400000
for i in range(N):
    v=json.dumps({"event_id":f"e{i}","event_type":"PICKED_UP","timestamp":"2024-01-15T10:00:00Z","entity_id":f"x{i%5000}","entity_type":"shipment"}).encode()
    while True:
        try: p.produce(prefix+"tracking.events", v, key=str(i).encode()); break
        except BufferError: p.poll(0.05)
p.flush()
out=tempfile.mkdtemp()
e=subprocess.Popen(["target/release/pulso","run","--brokers","127.0.0.1:9092","--topic-prefix",prefix,"--out",out,"--http","127.0.0.1:18099","--workers","2"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL)
seen=[]
t0=time.time()
while time.time()-t0<120:
    try:
        h=json.loads(urllib.request.urlopen("http://127.0.0.1:18099/v1/pipeline_health",timeout=2).read())
        parts=[x for x in h["partitions"] if x["topic"]==prefix+"tracking.events"]
        lag=sum(x["lag"] for x in parts); nxt=sum(x["next_offset"] for x in parts); hw=sum(x["high_watermark"] for x in parts)
        seen.append((round(time.time()-t0,1),nxt,hw,lag))
        if parts and lag==0 and nxt==N: break
    except Exception: pass
    time.sleep(0.3)
e.send_signal(signal.SIGINT); e.wait()
for s in seen[::max(1,len(seen)//12)]: print(s)
print("final", seen[-1], "max lag", max(s[3] for s in seen))
