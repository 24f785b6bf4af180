package io.pastaserve.interpreter;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The interpreter service: runs each request's PASTA-LANG program over the decoder workers. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class InterpreterApplication {

  public static void main(String[] args) {
    SpringApplication.run(InterpreterApplication.class, args);
  }
}
