// Loaded before every test file: @peculiar/x509 and the ASN.1 schema need reflect-metadata once.
import 'reflect-metadata';
