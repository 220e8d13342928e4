"""The contracts between devices, gateway and hub: MQTT topics, payload models, SQL schema."""
