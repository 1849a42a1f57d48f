from wgp_bridge.main import run

run()
